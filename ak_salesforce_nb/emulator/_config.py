"""The knobs of one emulated org, shared by the command line and ``start_emulator``.

The running emulator reads the OAuth-related fields (``auto_approve``, ``callback_urls``,
``require_pkce``, ``rotate_refresh_tokens``, ``session_timeout``...) and the write-back
ones (``shuffle_results``, ``validation_rule_prefix``, ``bulk_job_delay``,
``bulk_ingest_chunk_size``) at request time, so a test may change them on ``emu.config``
while the emulator runs.
"""

from __future__ import annotations

import dataclasses
import datetime

from ._versions import parse_latest

__all__ = ["EmulatorConfig"]


def _default_users() -> dict[str, str]:
    return {"ada@example.com": "demo"}


@dataclasses.dataclass
class EmulatorConfig:
    """Configuration of an emulated Salesforce org; every field has a default."""

    #: Number of Account records; Contacts (about 2.5x) and Opportunities (1.5x) follow.
    accounts: int = 2000
    #: Seed of the deterministic data generator.
    seed: int = 1
    #: Skip the login and consent pages: authorize redirects with a code at once.
    auto_approve: bool = False
    #: The connected app's Consumer Key.
    client_id: str = "demo-client-id"
    #: The connected app's Consumer Secret.
    client_secret: str = "demo-client-secret"
    #: Exact-match allow list of callback URLs; empty allows any loopback
    #: ``http(s)://localhost|127.0.0.1[:port]/.../oauth/redirect/salesforce``.
    callback_urls: list[str] = dataclasses.field(default_factory=list)
    #: Users who can log in, username -> password; the first one is the default user.
    #: Each gets a User record when the org is generated, so set them before starting.
    users: dict[str, str] = dataclasses.field(default_factory=_default_users)
    #: Refuse authorization requests without a PKCE ``code_challenge``.
    require_pkce: bool = False
    #: Issue a new refresh token on every refresh and retire the old one.
    rotate_refresh_tokens: bool = False
    #: Access-token lifetime in seconds (the org's session timeout).
    session_timeout: float = 7200.0
    #: Synthetic custom objects ``Custom_0001__c``... added to the global describe.
    extra_objects: int = 0
    #: Interface to listen on.
    host: str = "127.0.0.1"
    #: Port to listen on; 0 picks a free one.
    port: int = 0
    #: Require the client secret on the token endpoint (Salesforce's default for the web
    #: server and refresh token flows).
    require_client_secret: bool = True
    #: Seconds a Bulk API 2.0 job takes at least from UploadComplete to JobComplete (query
    #: jobs and ingest jobs; an ingest job's chunks are spread over this time).
    bulk_job_delay: float = 0.3
    #: Records an ingest job processes per internal chunk (Salesforce: 10,000); an abort
    #: stops the job between chunks, leaving the rest in ``unprocessedrecords``.
    bulk_ingest_chunk_size: int = 10_000
    #: Records in a Bulk API 2.0 query result page when the client gives no maxRecords
    #: (also the size of each page ``resultPages`` links to); read at each request.
    bulk_result_page_size: int = 50_000
    #: Serve Bulk API 2.0 ingest result files (successful/failed/unprocessed) in an order
    #: other than the input's, as Salesforce may; read when a file is fetched.
    shuffle_results: bool = False
    #: A validation rule of the org: records whose name starts with this text fail with
    #: FIELD_CUSTOM_VALIDATION_EXCEPTION (None: no rule); read at each write.
    validation_rule_prefix: str | None = None
    #: The org's ``DailyApiRequests`` maximum.
    api_daily_limit: int = 15000
    #: Open query cursors kept per user before the oldest is released (Salesforce: 10).
    max_open_cursors: int = 10
    #: The "today" the generated data is anchored to; None means the UTC date at start.
    anchor_date: datetime.date | None = None
    #: Serve HTTPS with this certificate chain and key (PEM files) instead of HTTP.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    #: Name of the connected app shown on the consent page.
    app_name: str = "Notebook Connector"
    #: Serve the Pub/Sub API (gRPC) too, and emit change events for REST writes.
    pubsub: bool = False
    #: Port of the Pub/Sub API; 0 picks a free one.
    pubsub_port: int = 0
    #: Events the Pub/Sub event bus retains (the newest ones).
    pubsub_retention: int = 100_000
    #: Seconds between the empty keepalive responses of an idle subscription.
    pubsub_keepalive: float = 270.0
    #: A multi-currency org: CurrencyIsoCode on objects with money fields, CurrencyType
    #: rates, and convertCurrency() in SOQL (refused with an error when off, as Salesforce
    #: does). Fixed when the org is generated.
    multi_currency: bool = False
    #: The app is enabled for the OAuth 2.0 device flow (off: Salesforce's "device flow is
    #: not enabled for the app" error).
    device_flow: bool = True
    #: Seconds a device must wait between polls (the ``interval`` answered); polling
    #: sooner answers ``slow_down``; 0 lets it poll at any pace.
    device_interval: int = 5
    #: Seconds a device code and its user code stay valid.
    device_code_lifetime: float = 600.0
    #: The app is enabled for the client credentials flow, running as
    #: ``client_credentials_user`` (None: the default user).
    client_credentials: bool = True
    client_credentials_user: str | None = None
    #: PEM certificate of the app's "Use digital signatures" setting: the JWT bearer flow
    #: verifies assertions against it; None leaves the flow unusable, like an app without one.
    jwt_cert: str | None = None
    #: The app accepts the JWT bearer flow (given a ``jwt_cert``).
    jwt_bearer: bool = True
    #: Users are pre-authorized for the app (admin approved); off, a JWT bearer grant needs
    #: the user's earlier approval, else "user hasn't approved this consumer".
    jwt_preauthorized: bool = True
    #: Access tokens expire ``session_timeout`` after issue whatever the activity, instead of
    #: a real org's sliding timeout (activity in the second half of the window renews it).
    absolute_session_expiry: bool = False
    #: Cut REST query pages after the first one short of the batch size by varying amounts,
    #: as Salesforce may ("fewer records than the limit"); read at each page. Salesforce-like
    #: short pages for wide rows and child subqueries happen either way (_short_pages).
    short_pages: bool = False
    #: The org's newest REST API version (``GET /services/data`` lists 31.0 up to it, newer
    #: ones answer NOT_FOUND); None: the emulator's release (_versions.LATEST_VERSION).
    latest_api_version: str | None = None
    #: The app's "Admin approved users are pre-authorized" list for the JWT bearer flow (with
    #: ``jwt_preauthorized``): None approves every user; otherwise the others get
    #: ``invalid_app_access`` "user is not admin approved to access this app".
    jwt_admin_approved_users: list[str] | None = None

    @property
    def default_username(self) -> str:
        """The first configured user: who logs in by default and owns new records."""
        return next(iter(self.users))

    def validate(self) -> None:
        """Raise ValueError for settings the emulator cannot honour."""
        if not self.users:
            raise ValueError("at least one user is needed")
        if self.accounts < 0 or self.extra_objects < 0:
            raise ValueError("accounts and extra_objects must not be negative")
        if self.session_timeout <= 0:
            raise ValueError("session_timeout must be positive")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("tls_certfile and tls_keyfile go together")
        if self.pubsub_retention < 1 or self.pubsub_keepalive <= 0:
            raise ValueError("pubsub_retention and pubsub_keepalive must be positive")
        if self.latest_api_version is not None:
            parse_latest(self.latest_api_version)  # ValueError for a malformed version
        if self.bulk_ingest_chunk_size < 1:
            raise ValueError("bulk_ingest_chunk_size must be positive")
        if self.bulk_result_page_size < 1:
            raise ValueError("bulk_result_page_size must be positive")
        if self.device_interval < 0 or self.device_code_lifetime <= 0:
            raise ValueError("device_interval must not be negative, device_code_lifetime positive")
        run_as = self.client_credentials_user
        if run_as is not None and run_as.lower() not in {user.lower() for user in self.users}:
            raise ValueError("client_credentials_user must be one of the users")
        if self.jwt_cert is not None:
            from ._jose import public_key_from_pem  # cryptography only when a cert is given

            try:
                with open(self.jwt_cert, "rb") as cert:
                    public_key_from_pem(cert.read())
            except (OSError, ValueError) as error:
                raise ValueError(
                    f"jwt_cert {self.jwt_cert}: not a readable RSA certificate ({error})"
                ) from None
