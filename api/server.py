"""Running the API: uvicorn on the app, believing X-Forwarded-For only from LANDDESK_TRUSTED_PROXIES."""
from __future__ import annotations


def run(url: str, host: str, port: int) -> int:
    import uvicorn

    from api.app import create_app
    from etl.store import make_engine
    from landdesk.settings import settings

    trusted = [str(n) for n in settings().trusted_proxies]
    uvicorn.run(create_app(make_engine(url)), host=host, port=port, proxy_headers=bool(trusted),
                forwarded_allow_ips=trusted or None, server_header=False, log_level="info")
    return 0
