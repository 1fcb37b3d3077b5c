"""The dashboard: server-rendered pages for the business owner and staff (mission.md, Who uses it).

A thin edge like ``api/``: it authenticates (a login form that takes the tenant API key
and keeps a signed, HttpOnly, SameSite=Strict session cookie), calls the same services
and repositories as the HTTP API, and renders Jinja2 templates with autoescaping. It
never decides compliance itself: a staff reply is a ``conversation`` message through
``services.messages.submit`` and so passes the gate like any other (R-FCC-02 after a
STOP), and the send check runs ``services.messages.check`` and only explains.
"""
