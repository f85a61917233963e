"""wirewatch installs for production without the development tools, and its container's
files say what they do (issue 16 items 1 and 2).

A wheel is built from the files the Dockerfile copies into the image, then installed into a
clean virtualenv with no dev extra and no network: the dependencies' wheels come from the
wheelhouse that ``make test`` fills (``.venv/wheelhouse``). From that virtualenv the demo
crawls with the config the image ships, and serve runs as compose.yaml starts it. Docker
itself is not on every machine that runs these tests, so the Dockerfile is linted with
hadolint, its RUN lines are the ones done here, and compose.yaml is read and its paths
and commands checked against the Dockerfile and the CLI.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import yaml

from monitor.cli import cli

from .conftest import REPO
from .serving import Served

# The wheelhouse, the clean virtualenv and the demo are built once, on one worker.
pytestmark = pytest.mark.xdist_group("install")

WHEELHOUSE = REPO / ".venv" / "wheelhouse"
INSTALL_TIMEOUT = 300  # seconds for pip to build or install; about 40 s here
CLI_TIMEOUT = 120
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def instructions(text: str) -> list[tuple[str, str]]:
    """Return a Dockerfile's instructions, each keyword with its arguments on one line."""
    found: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        keyword, _, rest = (current + line).partition(" ")
        found.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return found


INSTRUCTIONS = instructions(DOCKERFILE)


def arguments(keyword: str) -> list[str]:
    return [rest for word, rest in INSTRUCTIONS if word == keyword]


def image_env() -> dict[str, str]:
    """The variables the Dockerfile's ENV lines set."""
    return dict(word.split("=", 1) for rest in arguments("ENV") for word in shlex.split(rest))


def exec_form(keyword: str) -> list[str]:
    [value] = arguments(keyword)
    words = json.loads(value)
    assert isinstance(words, list)
    return words


def dockerignore() -> list[re.Pattern[str]]:
    """The .dockerignore patterns as regular expressions over paths from the context."""
    patterns = []
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions are not read here: add them to this test"
        regex = ""
        for part in re.split(r"(\*\*/|\*|\?)", line.strip("/")):
            regex += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        patterns.append(re.compile(regex))
    return patterns


IGNORED = dockerignore()


def ignored(relative: PurePosixPath) -> bool:
    """Whether Docker leaves *relative* (or a folder it is in) out of the build context."""
    paths = [relative, *list(relative.parents)[:-1]]
    return any(pattern.fullmatch(str(path)) for pattern in IGNORED for path in paths)


@dataclass
class Image:
    """The image's files laid out under *root*, and wirewatch installed in *venv* as the
    Dockerfile installs it (its RUN lines done here, bar the user's creation)."""

    root: Path
    venv: Path
    wheel: Path
    demo: Path  # a folder where the installed wirewatch ran its demo
    demo_output: str

    def path(self, inside: str) -> Path:
        """Where the image's path *inside* is here."""
        return self.root / PurePosixPath(inside).relative_to("/")

    @property
    def wirewatch(self) -> str:
        return str(self.venv / "bin" / "wirewatch")

    def run(
        self, *args: str, cwd: Path, timeout: float = CLI_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed wirewatch with the image's environment, the config included."""
        env = clean_env()
        env.update(image_env())
        env["WIREWATCH_CONFIG"] = str(self.path(env["WIREWATCH_CONFIG"]))
        env["XDG_CACHE_HOME"] = str(self.path(env["XDG_CACHE_HOME"]))
        return run([self.wirewatch, *args], cwd=cwd, env=env, timeout=timeout)


def clean_env() -> dict[str, str]:
    """This environment without what would lead a process to this repository's code."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "WIREWATCH_CONFIG",
            "PYTHONDONTWRITEBYTECODE")  # fmt: skip
    # Bytecode is written, so that the crawl children reuse what the first process compiled.
    return {key: value for key, value in os.environ.items() if key not in drop}


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{shlex.join(command)} did not finish within {timeout}s")


def copy_into(source: Path, destination: Path) -> None:
    """Copy *source* (a file, or a folder's contents) as Docker's COPY does, minus what
    .dockerignore leaves out."""
    if source.is_file():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and not ignored(PurePosixPath(path.relative_to(REPO).as_posix())):
            copy_into(path, destination / path.relative_to(source))


def lay_out(root: Path) -> Path:
    """Do the Dockerfile's COPY and WORKDIR lines under *root*; return the folder that
    its ``pip install`` line installs from."""
    workdir = PurePosixPath("/")
    installed_from = None
    for keyword, rest in INSTRUCTIONS:
        if keyword == "WORKDIR":
            workdir = workdir / rest
        elif keyword == "COPY":
            *sources, target = shlex.split(rest)
            destination = root / (workdir / target).relative_to("/")
            for source in sources:
                into = destination / Path(source).name if target.endswith("/") else destination
                copy_into(REPO / source, into)
        elif keyword == "RUN" and rest.startswith("pip install"):
            installed_from = root / (workdir / shlex.split(rest)[-1]).relative_to("/")
    assert installed_from is not None, "the Dockerfile installs nothing with pip"
    return installed_from


def build(folder: Path) -> Image:
    """Lay out the image's files, build a wheel, install it offline into a clean venv."""
    if not (WHEELHOUSE / ".filled").is_file():
        pytest.skip(f"no wheelhouse in {WHEELHOUSE}: `make wheelhouse` (or `make test`) fills it")
    root = folder / "root"
    source = lay_out(root)
    pip = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check"]
    offline = ["--no-index", "--find-links", str(WHEELHOUSE)]
    dist = folder / "dist"
    done = run([*pip, "wheel", "--quiet", "--no-deps", *offline, "--wheel-dir", str(dist),
                str(source)], cwd=folder, timeout=INSTALL_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = dist.glob("wirewatch-*.whl")
    venv = folder / "venv"
    done = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=folder, timeout=60)
    assert done.returncode == 0, done.stderr
    # --no-compile: compiling every dependency took 20 s more than the demo compiling what
    # it imports.
    done = run([*pip, "--python", str(venv / "bin" / "python"), "install", "--quiet",
                "--no-compile", *offline, "-c", str(source / ".ci" / "constraints.txt"),
                str(wheel)], cwd=folder, timeout=INSTALL_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    image = Image(root, venv, wheel, folder / "run", "")
    for line in arguments("RUN"):
        if line.startswith("sed "):  # the image's config, with the archive in the volume
            config = image_env()["WIREWATCH_CONFIG"]
            command = line.replace(config, shlex.quote(str(image.path(config))))
            done = run(["sh", "-c", command], cwd=folder, timeout=60)
            assert done.returncode == 0, done.stderr
    for name in ("WIREWATCH_CONFIG", "XDG_CACHE_HOME"):
        image.path(image_env()[name]).parent.mkdir(parents=True, exist_ok=True)
    image.demo.mkdir()
    done = image.run("demo", cwd=image.demo)  # what `docker run wirewatch demo` does
    assert done.returncode == 0, done.stdout + done.stderr
    image.demo_output = done.stdout
    return image


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return build(tmp_path_factory.mktemp("install"))


def installed_names(venv: Path) -> set[str]:
    code = "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))"
    done = run([str(venv / "bin" / "python"), "-c", code], cwd=venv, timeout=60)
    assert done.returncode == 0, done.stderr
    return {normalized(name) for name in done.stdout.split()}


def normalized(requirement: str) -> str:
    """A requirement's project name, as pip compares them."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def test_the_installed_demo_crawls_and_flags_stories(image: Image) -> None:
    output = image.demo_output
    found = re.search(r"Run 1: (\d+) new articles, (\d+) flagged", output)
    assert found, output
    assert int(found.group(1)) > 0 and int(found.group(2)) > 0
    scored = re.search(r"russia-dprk flagged (\d+) of them, with (\d+) false alarm", output)
    assert scored and int(scored.group(1)) > 0, output
    config = image.demo / "wirewatch-demo" / "config.yaml"
    done = image.run("--config", str(config), "flagged", "--format", "json", cwd=image.demo)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) >= int(scored.group(1))


def test_the_install_uses_its_own_copy_and_no_development_tool(image: Image) -> None:
    python = str(image.venv / "bin" / "python")
    code = "import monitor, crawler; print(monitor.__file__, crawler.__file__)"
    done = run([python, "-c", code], cwd=image.demo, timeout=60)
    assert done.returncode == 0, done.stderr
    for path in done.stdout.split():
        assert Path(path).is_relative_to(image.venv), path
    names = installed_names(image.venv)
    runtime = {normalized(requirement) for requirement in PYPROJECT["project"]["dependencies"]}
    assert runtime <= names
    dev_only = {normalized(requirement) for requirement in
                PYPROJECT["project"]["optional-dependencies"]["dev"]} - runtime  # fmt: skip
    assert {"pytest", "selenium", "mypy", "ruff"} <= dev_only
    assert names & dev_only == set()


def test_the_wheel_holds_every_file_of_the_packages(image: Image) -> None:
    """What the program reads at run time (templates, the demo's stories) ships with it;
    only the linter's settings stay behind."""
    with zipfile.ZipFile(image.wheel) as wheel:
        shipped = set(wheel.namelist())
    wanted = {
        path.relative_to(REPO).as_posix()
        for folder in ("monitor", "crawler")
        for path in (REPO / folder).rglob("*")
        if path.is_file()
        and path.name != "ruff.toml"
        and not ignored(PurePosixPath(path.relative_to(REPO).as_posix()))
    }
    assert wanted - shipped == set()
    assert {"monitor/demo/stories.yaml", "monitor/templates/digest.html"} <= shipped


def test_the_image_s_config_is_valid_and_names_an_archive_in_the_volume(image: Image) -> None:
    done = image.run("check", "--format", "json", cwd=image.demo)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["valid"] is True
    archive = PurePosixPath(summary["archive"])
    [volume] = arguments("VOLUME")
    assert archive == PurePosixPath(volume) / "wirewatch.db"
    assert arguments("WORKDIR")[-1] == volume  # where the demo and relative paths land
    # The trap of the systemd units: a relative archive: would be beside the config, in /etc.
    assert PurePosixPath(image_env()["WIREWATCH_CONFIG"]).parent != PurePosixPath(volume)


def test_serve_as_compose_starts_it_asks_for_a_login_and_shows_the_demo(
    image: Image, tmp_path: Path
) -> None:
    service = COMPOSE["services"]["serve"]
    args = list(service["command"])
    assert args[0] == "serve"
    args[args.index("--port") + 1] = "0"  # a free port here; the container's is its own
    password = "a long shared password"
    with Served(
        image.demo, *args[1:], env={**clean_env(), "WIREWATCH_SERVE_PASSWORD": password},
        config="wirewatch-demo/config.yaml", program=[image.wirewatch],
    ) as served:  # fmt: skip
        served.url = served.url.replace("0.0.0.0", "127.0.0.1")
        assert served.get("/archive/flagged_stories")[0] == 403
        status, _, _ = served.post("/-/login", {"username": "analyst", "password": password})
        assert status == 302
        status, page, _ = served.get("/archive/flagged_stories")
        assert status == 200
        listed = image.run("--config", "wirewatch-demo/config.yaml", "flagged",
                           "--format", "json", cwd=image.demo)  # fmt: skip
        assert json.loads(listed.stdout)[0]["title"] in html.unescape(page)
        # --allow-host localhost: the name a browser on the host is likely to use.
        served.url = served.url.replace("127.0.0.1", "localhost")
        assert served.get("/-/login")[0] == 200


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.is_file():
        pytest.skip("hadolint is not installed: it comes with the dev extra (make venv)")
    done = run([str(hadolint), "--no-color", "Dockerfile"], cwd=REPO, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_image_is_built_from_the_repository_alone() -> None:
    for rest in arguments("COPY"):
        assert not rest.startswith("--from"), "the image copies only from the build context"
        for source in shlex.split(rest)[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not ignored(PurePosixPath(source)), f"COPY {source}: .dockerignore leaves it out"
    for left_out in (".venv", ".git", "wirewatch-demo", "monitor/__pycache__",
                     "crawler/.ruff_cache", ".mypy_cache", ".pytest_cache", "serve.env"):  # fmt: skip
        assert ignored(PurePosixPath(left_out)), left_out
    assert not ignored(PurePosixPath("monitor/serve/templates/story.html"))


def test_the_dockerfile_runs_only_what_this_test_does_and_runs_wirewatch_unprivileged() -> None:
    runs = arguments("RUN")
    [install] = [line for line in runs if line.startswith("pip install")]
    assert "[" not in install, "the image installs wirewatch without extras"
    assert shlex.split(install)[-3:] == ["-c", ".ci/constraints.txt", "."]
    [user] = [line for line in runs if line.startswith("groupadd")]
    [config] = [line for line in runs if line.startswith("sed ")]
    assert set(runs) == {install, user, config}, "a RUN line this test does not reproduce"
    uid = re.search(r"useradd .*--uid (\d+)", user)
    assert uid and arguments("USER") == [f"{uid.group(1)}:{uid.group(1)}"]
    owned = user.split("chown wirewatch:wirewatch", 1)[1].split()
    assert set(arguments("VOLUME")) | {image_env()["XDG_CACHE_HOME"]} <= set(owned)
    assert exec_form("ENTRYPOINT") == ["wirewatch"]


COMMANDS = {"CMD": exec_form("CMD")} | {
    name: service["command"] for name, service in COMPOSE["services"].items()
}


@pytest.mark.parametrize("where", sorted(COMMANDS))
def test_each_command_the_image_and_compose_run_parses(where: str) -> None:
    name, rest = COMMANDS[where][0], COMMANDS[where][1:]
    # The config comes from WIREWATCH_CONFIG in the image, as --config here.
    context = cli.make_context("wirewatch", ["--config", image_env()["WIREWATCH_CONFIG"]])
    found = cli.get_command(context, name)
    assert found is not None, name
    with found.make_context(name, rest):
        pass


def test_compose_runs_the_daemon_and_serve_on_one_volume() -> None:
    services = COMPOSE["services"]
    assert services["daemon"]["command"][0] == "run"
    assert services["serve"]["command"][0] == "serve"
    [volume] = arguments("VOLUME")
    mounts = {name: service["volumes"] for name, service in services.items()}
    assert mounts["daemon"] == mounts["serve"] == [f"state:{volume}"]
    assert "state" in COMPOSE["volumes"]
    assert {service["image"] for service in services.values()} == {"wirewatch"}
    assert {service["build"] for service in services.values()} == {"."}
    serve = services["serve"]["command"]
    assert serve[serve.index("--host") + 1] == "0.0.0.0"  # reachable from outside its container
    port = serve[serve.index("--port") + 1]
    assert services["serve"]["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert arguments("EXPOSE") == [port]
    # The password's file stays out of the repository and of the image.
    assert services["serve"]["env_file"] == "serve.env"
    assert ignored(PurePosixPath("serve.env"))
    assert "serve.env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


def test_docker_compose_reads_the_file_with_the_password_file_beside_it(tmp_path: Path) -> None:
    if shutil.which("docker-compose"):
        compose = ["docker-compose"]
    elif shutil.which("docker") and run(["docker", "compose", "version"], cwd=tmp_path,
                                         timeout=60).returncode == 0:  # fmt: skip
        compose = ["docker", "compose"]
    else:
        pytest.skip("neither docker-compose nor docker compose is installed here")
    shutil.copy(REPO / "compose.yaml", tmp_path / "compose.yaml")
    done = run([*compose, "config"], cwd=tmp_path, timeout=60)
    assert done.returncode != 0 and "serve.env" in done.stderr  # named when it is missing
    (tmp_path / "serve.env").write_text("WIREWATCH_SERVE_PASSWORD=a long password\n")
    done = run([*compose, "config"], cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert resolved["serve"]["environment"] == {"WIREWATCH_SERVE_PASSWORD": "a long password"}
    assert resolved["daemon"]["command"] == COMPOSE["services"]["daemon"]["command"]
