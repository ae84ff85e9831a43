"""HTTP handlers, one module per business area, one function per operation.

``BLUEPRINTS`` lists the modules app.py registers; each exposes ``api`` (an :class:`~chalicelib.http.api.Api`).
"""

BLUEPRINTS = (
    "chalicelib.handlers.meta",
    "chalicelib.handlers.auth",
    "chalicelib.handlers.profile",
    "chalicelib.handlers.reviews",
    "chalicelib.handlers.appointments",
    "chalicelib.handlers.flexible",
    "chalicelib.handlers.uploads",
    "chalicelib.handlers.content",
    "chalicelib.handlers.tools",
    "chalicelib.handlers.me",
    "chalicelib.handlers.messages",
    "chalicelib.handlers.cards",
    "chalicelib.handlers.loans",
    "chalicelib.handlers.certificates",
    "chalicelib.handlers.withdrawals",
    "chalicelib.handlers.loan_services",
    "chalicelib.handlers.hall_auth",
    "chalicelib.handlers.units",
    "chalicelib.handlers.developers",
)
