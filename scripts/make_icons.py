"""Draw the app icons (PNG) in app/static/icons/ without an imaging library.

Run from the project root: python3 scripts/make_icons.py
The shape is the one in icons/icon.svg: a white house on the brand colour.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BRAND = (0x0B, 0x4F, 0x6C)
WHITE = (255, 255, 255)
ICONS = Path(__file__).resolve().parent.parent / "app" / "static" / "icons"


def _house(x: float, y: float) -> bool:
    """Inside the house, in the 64 x 64 space of icon.svg."""
    if 30 <= y <= 49 and 14 <= x <= 50:
        return not (26 <= x <= 38 and 37 <= y <= 49)  # the door
    if 15 <= y < 30:
        half = (y - 15) / 15 * 18
        return 32 - half <= x <= 32 + half
    return False


def _rounded(x: float, y: float, radius: float = 14) -> bool:
    """Inside the square with rounded corners."""
    cx = radius if x < radius else 64 - radius if x > 64 - radius else x
    cy = radius if y < radius else 64 - radius if y > 64 - radius else y
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def draw(name: str, size: int, *, maskable: bool = False) -> None:
    scale = size / 64
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            x, y = (i + 0.5) / scale, (j + 0.5) / scale
            if maskable:  # full bleed, the house inside the 80 % safe zone
                hx, hy = 32 + (x - 32) / 0.8, 32 + (y - 32) / 0.8
                row += bytes((*(WHITE if _house(hx, hy) else BRAND), 255))
            elif not _rounded(x, y):
                row += bytes((0, 0, 0, 0))
            else:
                row += bytes((*(WHITE if _house(x, y) else BRAND), 255))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
    (ICONS / name).write_bytes(png)


if __name__ == "__main__":
    draw("icon-192.png", 192)
    draw("icon-512.png", 512)
    draw("icon-maskable-512.png", 512, maskable=True)
    draw("apple-touch-icon.png", 180)
