"""``python -m ak_salesforce_nb.emulator`` (console script ``ak-salesforce-emulator``).

Prints ``ak-salesforce-emulator listening on URL`` as its first stdout line (with
``--pubsub``/``--pubsub-port``, ``ak-salesforce-emulator pubsub on ENDPOINT`` as the
second), then serves until SIGINT or SIGTERM, and exits cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ._app import bind, start_server
from ._config import EmulatorConfig
from ._state import EmulatorState

__all__ = ["build_parser", "config_from_args", "main"]


def _user(text: str) -> tuple[str, str]:
    username, sep, password = text.partition(":")
    if not sep or not username or not password:
        raise argparse.ArgumentTypeError("expected EMAIL:PASSWORD")
    return username, password


def build_parser() -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="ak-salesforce-emulator",
        description="A local emulator of a Salesforce org: OAuth login and consent, REST API "
        "(query, describe, records, sObject Collections, limits) and Bulk API 2.0 queries and "
        "ingest jobs, with generated data.",
    )
    add = parser.add_argument
    add("--host", default=defaults.host, help="interface to listen on (default %(default)s)")
    add("--port", type=int, default=defaults.port, help="port; 0 picks a free one (default 0)")
    add("--seed", type=int, default=defaults.seed, help="data generator seed (default 1)")
    add("--accounts", type=int, default=defaults.accounts, help="number of accounts (2000)")
    add("--client-id", default=defaults.client_id, help="connected app consumer key")
    add("--client-secret", default=defaults.client_secret, help="connected app consumer secret")
    add(
        "--callback-url",
        action="append",
        default=[],
        help="allowed callback URL (repeatable; default: any loopback "
        ".../oauth/redirect/salesforce)",
    )
    add("--auto-approve", action="store_true", help="skip the login and consent pages")
    add("--username", default=defaults.default_username, help="default user (ada@example.com)")
    add("--password", default=defaults.users[defaults.default_username], help="its password")
    add(
        "--user",
        action="append",
        type=_user,
        default=[],
        metavar="EMAIL:PASSWORD",
        help="another user who can log in (repeatable)",
    )
    add("--require-pkce", action="store_true", help="refuse authorize requests without PKCE")
    add(
        "--rotate-refresh-tokens",
        action="store_true",
        help="issue a new refresh token on every refresh and retire the old one",
    )
    add(
        "--session-timeout",
        type=float,
        default=defaults.session_timeout,
        help="access token lifetime in seconds (default 7200)",
    )
    add("--extra-objects", type=int, default=0, help="add N synthetic custom objects")
    add(
        "--bulk-job-delay",
        type=float,
        default=defaults.bulk_job_delay,
        help="seconds a Bulk API 2.0 query job takes to complete",
    )
    add(
        "--bulk-ingest-chunk-size",
        type=int,
        default=defaults.bulk_ingest_chunk_size,
        help="records a Bulk API 2.0 ingest job writes per chunk (default %(default)s)",
    )
    add(
        "--bulk-result-page-size",
        type=int,
        default=defaults.bulk_result_page_size,
        help="records per Bulk API 2.0 query result page without maxRecords (default %(default)s)",
    )
    add(
        "--shuffle-results",
        action="store_true",
        help="serve Bulk API 2.0 ingest result files out of input order, as Salesforce may",
    )
    add(
        "--validation-rule-prefix",
        default=None,
        metavar="PREFIX",
        help="a validation rule: records named PREFIX... fail with "
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    add("--tls-cert", default=None, help="PEM certificate chain: serve HTTPS")
    add("--tls-key", default=None, help="PEM private key for --tls-cert")
    add("--pubsub", action="store_true", help="serve the Pub/Sub API (gRPC) on a free port")
    add(
        "--pubsub-port",
        type=int,
        default=None,
        help="serve the Pub/Sub API on this port (implies --pubsub)",
    )
    add(
        "--pubsub-retention",
        type=int,
        default=defaults.pubsub_retention,
        help="events the Pub/Sub event bus retains (default %(default)s)",
    )
    add(
        "--no-device-flow",
        action="store_true",
        help="the app is not enabled for the device flow (Salesforce's 'not enabled' error)",
    )
    add(
        "--device-interval",
        type=int,
        default=defaults.device_interval,
        help="seconds between device flow polls; sooner answers slow_down (default %(default)s)",
    )
    add(
        "--no-client-credentials",
        action="store_true",
        help="the app is not enabled for the client credentials flow",
    )
    add(
        "--client-credentials-user",
        default=None,
        metavar="EMAIL",
        help="run-as user of the client credentials flow (default: the default user)",
    )
    add(
        "--jwt-cert",
        default=None,
        metavar="PATH",
        help="PEM certificate of the app: enables the JWT bearer flow, verified against it",
    )
    add("--no-jwt-bearer", action="store_true", help="refuse JWT bearer grants even with a cert")
    add(
        "--no-client-secret",
        action="store_true",
        help="a public client: code flow (with PKCE), device flow and refresh need no secret",
    )
    add(
        "--absolute-session-expiry",
        action="store_true",
        help="access tokens die --session-timeout after issue, activity or not "
        "(default: activity extends them, as on a real org)",
    )
    add(
        "--short-pages",
        action="store_true",
        help="cut REST query pages after the first short of the batch size, as Salesforce "
        "may, so clients must follow nextRecordsUrl",
    )
    add(
        "--latest-api-version",
        default=None,
        metavar="NN.0",
        help="the org's newest REST API version (default: the emulator's release)",
    )
    add(
        "--multi-currency",
        action="store_true",
        help="a multi-currency org: CurrencyIsoCode fields, CurrencyType rates and "
        "convertCurrency() in SOQL (refused in a single-currency org, the default)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    users = {args.username: args.password}
    for username, password in args.user:
        users.setdefault(username, password)
    return EmulatorConfig(
        accounts=args.accounts,
        seed=args.seed,
        auto_approve=args.auto_approve,
        client_id=args.client_id,
        client_secret=args.client_secret,
        callback_urls=list(args.callback_url),
        users=users,
        require_pkce=args.require_pkce,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        session_timeout=args.session_timeout,
        extra_objects=args.extra_objects,
        host=args.host,
        port=args.port,
        bulk_job_delay=args.bulk_job_delay,
        bulk_ingest_chunk_size=args.bulk_ingest_chunk_size,
        bulk_result_page_size=args.bulk_result_page_size,
        shuffle_results=args.shuffle_results,
        validation_rule_prefix=args.validation_rule_prefix,
        tls_certfile=args.tls_cert,
        tls_keyfile=args.tls_key,
        pubsub=args.pubsub or args.pubsub_port is not None,
        pubsub_port=args.pubsub_port or 0,
        pubsub_retention=args.pubsub_retention,
        device_flow=not args.no_device_flow,
        device_interval=args.device_interval,
        client_credentials=not args.no_client_credentials,
        client_credentials_user=args.client_credentials_user,
        jwt_cert=args.jwt_cert,
        jwt_bearer=not args.no_jwt_bearer,
        require_client_secret=not args.no_client_secret,
        absolute_session_expiry=args.absolute_session_expiry,
        short_pages=args.short_pages,
        latest_api_version=args.latest_api_version,
        multi_currency=args.multi_currency,
    )


async def serve(state: EmulatorState) -> None:
    """Serve until SIGINT/SIGTERM, announcing the URL on the first stdout line."""
    server = start_server(state, bind(state))
    pubsub = None
    if state.config.pubsub:
        from ._pubsub_server import PubSubServer

        pubsub = PubSubServer(state)
        try:
            await pubsub.start()
        except BaseException:
            server.stop()
            raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # e.g. Windows
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    sys.stdout.write(f"ak-salesforce-emulator listening on {state.base_url}\n")
    if pubsub is not None:
        sys.stdout.write(f"ak-salesforce-emulator pubsub on {pubsub.endpoint}\n")
    sys.stdout.flush()
    await stop.wait()
    state.signal_stop()
    server.stop()
    if pubsub is not None:
        await pubsub.stop()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.close_all_connections(), timeout=5)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        state = EmulatorState(config)
    except (ValueError, OSError) as error:
        sys.exit(f"ak-salesforce-emulator: {error}")
    try:
        asyncio.run(serve(state))
    except OSError as error:
        sys.exit(f"ak-salesforce-emulator: {error}")


if __name__ == "__main__":
    main()
