"""What each client command does. Every failure is one line on stderr and exit code 1."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from klantroef_app.client_cli import config
from klantroef_app.client_cli.api import Answer, Api, check_url, media_path
from klantroef_app.client_cli.charts import per_day_chart
from klantroef_app.client_cli.config import ClientError, Credentials
from klantroef_app.client_cli.upload import MultipartFile

PAGE_SIZE = 100


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; the exit code."""
    actions: dict[str, Callable[[argparse.Namespace], None]] = {
        "login": login,
        "logout": logout,
        "upload": upload,
        "list": list_media,
        "link": link,
        "analytics": analytics,
        "delete": delete,
    }
    try:
        actions[args.action](args)
    except ClientError as exc:
        print(f"klantroef: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file to upload, or the credentials' folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"klantroef: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("klantroef: interrupted", file=sys.stderr)
        return 130
    return 0


def _signed_in() -> tuple[Credentials, Api]:
    credentials = config.load()
    return credentials, Api(credentials.url, credentials.token)


def login(args: argparse.Namespace) -> None:
    url = check_url(args.url)
    if args.password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        raise ClientError("no terminal to ask the password on: use --password-stdin")
    with Api(url) as api:
        answer = api.json("POST", "/auth/login", json={"email": args.email, "password": password})
    path = config.save(Credentials(url, args.email, answer["token"], answer["expires_at"]))
    print(f"logged in to {url} as {args.email} until {answer['expires_at']} (token in {path})")


def logout(args: argparse.Namespace) -> None:
    del args
    credentials, api = _signed_in()
    with api:
        api.request("POST", "/auth/logout", expect=(204, 401))  # 401: already over
    config.remove()
    print(f"logged out of {credentials.url}")


def _size(count: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError  # unreachable


def upload(args: argparse.Namespace) -> None:
    path = Path(args.file)
    _, api = _signed_in()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}") from None
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with handle, api, progress:
        body = MultipartFile(handle, path.name, args.title)
        task = progress.add_task(path.name, total=body.size)
        media = api.json(
            "POST",
            "/media",
            expect=(201,),
            content=body.chunks(lambda sent: progress.advance(task, sent)),
            headers={
                "content-type": body.content_type,
                "content-length": str(body.content_length),
            },
        )
    print(
        f"uploaded {media['id']}: {media['title']} "
        f"({media['content_type']}, {_size(media['size_bytes'])})"
    )


def list_media(args: argparse.Namespace) -> None:
    del args
    _, api = _signed_in()
    cursor: str | None = None
    shown = 0
    with api:
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = api.json("GET", "/media", params=params)
            for raw in page["items"]:
                item = Answer(api.url, raw if isinstance(raw, dict) else {})
                if shown == 0:
                    print(f"{'ID':<36}  {'TYPE':<5}  {'SIZE':>10}  {'CREATED':<20}  TITLE")
                created = item["created_at"][:19].replace("T", " ")
                print(
                    f"{item['id']:<36}  {item['type']:<5}  {_size(item['size_bytes']):>10}  "
                    f"{created:<20}  {item['title']}"
                )
                shown += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
    if shown == 0:
        print("no media yet")


def link(args: argparse.Namespace) -> None:
    _, api = _signed_in()
    with api:
        issued = api.json("GET", media_path(args.media_id, "/stream-url"))
    print(issued["url"])
    print(f"expires at {issued['expires_at']}", file=sys.stderr)


def analytics(args: argparse.Namespace) -> None:
    _, api = _signed_in()
    with api:
        media = api.json("GET", media_path(args.media_id))
        report = api.json("GET", media_path(args.media_id, "/analytics"))
    width = max(10, min(50, Console().width - 24))
    print(f"{media['title']} ({media['id']})")
    print(f"total views  {report['total_views']}")
    print(f"unique IPs   {report['unique_ips']}")
    print()
    for line in per_day_chart(report["views_per_day"], width):
        print(line)


def delete(args: argparse.Namespace) -> None:
    _, api = _signed_in()
    with api:
        api.request("DELETE", media_path(args.media_id), expect=(204,))
    print(f"deleted {args.media_id}")
