"""The SOAP API's endpoint (``/services/Soap/...``), which the emulator does not serve.

Clients that log in with a username and password (simple-salesforce's
``Salesforce(username=..., password=..., security_token=...)``, jsforce's
``conn.login``) post a SOAP ``login`` here and read the fault's ``sf:exceptionCode`` and
``sf:exceptionMessage``. An HTML 404 would leave them with an empty error, so the answer
is the SOAP fault Salesforce gives an org without that API (HTTP 500,
``API_DISABLED_FOR_ORG``), saying what to use instead.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ._web_base import BaseHandler

__all__ = ["SOAP_MESSAGE", "SoapHandler"]

SOAP_MESSAGE = (
    "API is not enabled for this Organization or Partner: this local Salesforce emulator "
    "does not serve the SOAP API (username-password login). Authorize with OAuth 2.0 "
    "through a connected app instead."
)

_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:API_DISABLED_FOR_ORG</faultcode><faultstring>API_DISABLED_FOR_ORG: {message}\
</faultstring><detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">\
<sf:exceptionCode>API_DISABLED_FOR_ORG</sf:exceptionCode><sf:exceptionMessage>{message}\
</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body>\
</soapenv:Envelope>"""


class SoapHandler(BaseHandler):
    """Every method on every SOAP path: the fault above."""

    def _fault(self, *args: str) -> None:
        del args
        self.set_status(500)
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.finish(_FAULT.format(message=escape(SOAP_MESSAGE)).encode("utf-8"))

    get = post = put = patch = delete = _fault
