"""Two real server processes on one MariaDB database and no Redis behave as one.

Each process keeps nothing of its own that the other must see: a logout on
one is refused by the other at once, one client's view quota is one quota
whichever process counts it, and analytics read on either include every view
acknowledged by either. Both sit behind a pretend proxy on loopback
(``KLANTROEF_TRUSTED_PROXIES`` is 127.0.0.1), so each view names its client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import LiveServer, live_server
from tests.real_servers import CREDENTIALS, SECRETS, VIEW_LIMIT, add_media, admin_headers, clients
from tests.sql_engines import fresh_database


@contextmanager
def two_servers_without_redis(folder: Path, database_url: str) -> Iterator[list[LiveServer]]:
    """Two ``klantroef serve`` processes, own data folders, one database, no Redis."""
    env = {
        "KLANTROEF_DATABASE_URL": database_url,
        "KLANTROEF_TRUSTED_PROXIES": "127.0.0.1",
        **SECRETS,
    }
    with (
        live_server(folder / "a", env) as a,
        live_server(folder / "b", env, migrate=False) as b,
    ):
        yield [a, b]


async def test_two_processes_on_mariadb_without_redis_share_logouts_limits_and_analytics(
    tmp_path: Path, mariadb_url: str
) -> None:
    database_url = await fresh_database(mariadb_url, suffix="no_redis")
    with two_servers_without_redis(tmp_path, database_url) as servers:
        async with clients(servers) as (a, b):
            # A logout on A is refused on B at once, though B checked the token before.
            revoked = await admin_headers(a)
            assert (await b.get("/auth/me", headers=revoked)).status_code == 200
            assert (await a.post("/auth/logout", headers=revoked)).status_code == 204
            refused = await b.get("/auth/me", headers=revoked)
            assert refused.status_code == 401
            assert refused.json()["code"] == "token_revoked"

            login = await b.post("/auth/login", json=CREDENTIALS)
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            (item,) = await add_media(database_url, 1)
            view = f"/media/{item}/view"
            analytics = f"/media/{item}/analytics"
            client = {**headers, "X-Forwarded-For": "198.51.100.7"}

            # One client's views, alternating processes: one quota, and after each
            # accepted view both processes report it.
            for n in range(VIEW_LIMIT):
                posted = await (a, b)[n % 2].post(view, headers=client)
                assert posted.status_code == 201, (n, posted.text)
                reports = [(await http.get(analytics, headers=headers)).json() for http in (a, b)]
                assert reports[0] == reports[1]
                assert reports[0]["total_views"] == n + 1
                assert reports[0]["unique_ips"] == 1

            for http in (a, b, a):  # the 31st, and more, whichever process gets them
                over = await http.post(view, headers=client)
                assert over.status_code == 429, over.text
                assert over.json()["code"] == "rate_limited"
                assert 1 <= int(over.headers["Retry-After"]) <= 60

            # Another client is not held back by the first one's quota.
            other = await b.post(view, headers={**headers, "X-Forwarded-For": "198.51.100.8"})
            assert other.status_code == 201
            for http in (a, b):
                report = (await http.get(analytics, headers=headers)).json()
                assert (report["total_views"], report["unique_ips"]) == (VIEW_LIMIT + 1, 2)
