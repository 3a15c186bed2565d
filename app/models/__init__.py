"""All models, importable from one place; importing this registers every table."""

from app.models.api import ApiAssertion, ApiCall, ApiClient
from app.models.appointments import (
    Appointment,
    AppointmentIdentifier,
    AppointmentSeries,
    AppointmentSource,
    AppointmentStatus,
    Cancellation,
    CancellationAcknowledgement,
    CancellationKind,
    VisitRegistration,
)
from app.models.audit import AdminChange, UsageAction, UsageLogEntry
from app.models.auth import (
    DevIdpGrant,
    LoginSession,
    LoginThrottle,
    PasskeyChallenge,
    PasskeyCredential,
)
from app.models.base import Base
from app.models.fullmakt import (
    APPOINTMENTS_AND_PROVIDERS,
    Fullmakt,
    FullmaktArea,
    FullmaktKind,
)
from app.models.notices import DevOutboxMessage, Notice, NoticeEvent, NoticeStatus
from app.models.people import (
    AddressProtection,
    Consent,
    ContactSettings,
    FamilyRelation,
    NoticeChannel,
    NoticeLevel,
    Person,
    RelationKind,
)
from app.models.services import District, Municipality, Service, ServiceRecipient, Unit
from app.models.staff import StaffAccount, StaffRole, StaffRoleKind
from app.models.threads import (
    Message,
    MessageKind,
    PassOnMethod,
    Thread,
    ThreadEvent,
    ThreadEventKind,
    ThreadRead,
    ThreadStatus,
)

__all__ = [
    "APPOINTMENTS_AND_PROVIDERS",
    "AdminChange",
    "ApiAssertion",
    "ApiCall",
    "ApiClient",
    "AddressProtection",
    "Appointment",
    "AppointmentIdentifier",
    "AppointmentSeries",
    "AppointmentSource",
    "AppointmentStatus",
    "Base",
    "Cancellation",
    "CancellationAcknowledgement",
    "CancellationKind",
    "Consent",
    "ContactSettings",
    "DevIdpGrant",
    "DevOutboxMessage",
    "District",
    "FamilyRelation",
    "Fullmakt",
    "FullmaktArea",
    "FullmaktKind",
    "LoginSession",
    "LoginThrottle",
    "Message",
    "MessageKind",
    "Municipality",
    "Notice",
    "NoticeChannel",
    "NoticeEvent",
    "NoticeLevel",
    "NoticeStatus",
    "PassOnMethod",
    "PasskeyChallenge",
    "PasskeyCredential",
    "Person",
    "RelationKind",
    "Service",
    "ServiceRecipient",
    "StaffAccount",
    "StaffRole",
    "StaffRoleKind",
    "Thread",
    "ThreadEvent",
    "ThreadEventKind",
    "ThreadRead",
    "ThreadStatus",
    "Unit",
    "UsageAction",
    "UsageLogEntry",
    "VisitRegistration",
]
