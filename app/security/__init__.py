"""Access rules, the log-in session actor and the OpenID Connect client."""
