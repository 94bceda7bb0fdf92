"""`make lab`: JupyterLab on localhost with the `tunesmith` kernel and the tutorials open.

Run through scripts/lab.sh (which sources scripts/env.sh, so the kernel spec is on JUPYTER_PATH and
libtorch on the library path). Starts JupyterLab in the background, waits until it answers and lists
the `Rust (tunesmith)` kernel, and prints the URL to open. Run again while it is up, it prints the
same URL and starts nothing; `make lab-stop` (this script with --stop) stops it.

Everything it keeps is in the state folder (default .tools/lab/): server.json (pid, port, token,
URL), lab.log, the JupyterLab user settings and workspaces. The token is kept too, so the URL stays
the same from one start to the next.
"""
import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = "tunesmith"
DEFAULT_STATE = ROOT / ".tools" / "lab"
# JupyterLab settings written when absent: no update checks or news (this machine may have no
# network, and a pop-up about them helps no one running tutorials).
DEFAULT_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


def log(msg):
    print(f"lab: {msg}", flush=True)


def get_json(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # A zombie (exited, not yet reaped) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def server_answers(info):
    try:
        get_json(f"http://127.0.0.1:{info['port']}/api/status?token={info['token']}")
        return True
    except (OSError, ValueError):
        return False


def read_info(state):
    try:
        return json.loads((state / "server.json").read_text())
    except (OSError, ValueError):
        return None


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port(wanted):
    if wanted == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for port in range(wanted, wanted + 50):
        if port_free(port):
            return port
    sys.exit(f"lab: no free port in {wanted}..{wanted + 49}")


def tutorials():
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def write_defaults(state):
    for rel, value in DEFAULT_SETTINGS.items():
        path = state / "user-settings" / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value, indent=2) + "\n")
    from jupyterlab_server.workspaces_handler import WorkspacesManager, slugify, WORKSPACE_EXTENSION

    workspaces = state / "workspaces"
    if (workspaces / (slugify(WORKSPACE) + WORKSPACE_EXTENSION)).exists():
        return  # the person's own layout since: keep it
    notebooks = tutorials()
    widgets = [f"notebook:{p}" for p in notebooks]
    data = {
        "layout-restorer:data": {
            "main": {
                "dock": {"type": "tab-area", "currentIndex": 0, "widgets": widgets},
                "current": widgets[0] if widgets else None,
            },
            "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]},
            "right": {"collapsed": True, "visible": True, "widgets": []},
        },
        "file-browser-filebrowser:cwd": {"path": "notebooks"},
    }
    for p in notebooks:
        data[f"notebook:{p}"] = {"data": {"path": p, "factory": "Notebook"}}
    WorkspacesManager(str(workspaces)).save(
        WORKSPACE, json.dumps({"data": data, "metadata": {"id": WORKSPACE}})
    )


def stop(state):
    info = read_info(state)
    if not info or not pid_alive(info["pid"]):
        log("no JupyterLab of tunesmith is running")
        return 0
    os.killpg(info["pid"], signal.SIGTERM)
    for _ in range(100):
        if not pid_alive(info["pid"]):
            break
        time.sleep(0.1)
    else:
        os.killpg(info["pid"], signal.SIGKILL)
    log(f"stopped JupyterLab (pid {info['pid']})")
    return 0


def start(args, state):
    info = read_info(state)
    if info and pid_alive(info["pid"]) and server_answers(info):
        log(f"JupyterLab is already running (pid {info['pid']}, log {state / 'lab.log'})")
        log(f"open {info['url']}")
        if args.json:
            print(json.dumps(info))
        return 0
    write_defaults(state)
    port = pick_port(args.port)
    token = (info or {}).get("token") or secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.user_settings_dir={state / 'user-settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
        *(["--allow-root"] if os.geteuid() == 0 else []),
        *args.lab_arg,
    ]
    logfile = open(state / "lab.log", "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=logfile,
                            stderr=subprocess.STDOUT, start_new_session=True)
    path = f"lab/workspaces/{WORKSPACE}" if args.open is None else f"lab/tree/{args.open}"
    info = {"pid": proc.pid, "port": port, "token": token,
            "url": f"http://127.0.0.1:{port}/{path}?token={token}",
            "base": f"http://127.0.0.1:{port}"}
    deadline = time.time() + args.wait
    while not server_answers(info):
        if proc.poll() is not None or time.time() > deadline:
            tail = (state / "lab.log").read_text(errors="replace")[-3000:]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            sys.exit(f"lab: JupyterLab did not start (see {state / 'lab.log'}):\n{tail}")
        time.sleep(0.5)
    specs = get_json(f"{info['base']}/api/kernelspecs?token={token}")["kernelspecs"]
    spec = specs.get("tunesmith", {}).get("spec", {})
    if spec.get("display_name") != "Rust (tunesmith)":
        os.killpg(proc.pid, signal.SIGTERM)
        sys.exit(f"lab: JupyterLab does not list the tunesmith kernel (found {sorted(specs)}): "
                 "run `make setup` (kernel/install.sh) and start it through scripts/lab.sh")
    (state / "server.json").write_text(json.dumps(info, indent=2) + "\n")
    import jupyterlab

    log(f"JupyterLab {jupyterlab.__version__} is running with the kernel Rust (tunesmith); "
        f"pid {proc.pid}, log {state / 'lab.log'}")
    log(f"open {info['url']}")
    if args.state == DEFAULT_STATE:
        log("stop it with: make lab-stop")
    if args.json:
        print(json.dumps(info))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stop", action="store_true", help="stop the JupyterLab started from this state folder")
    ap.add_argument("--state", type=Path, default=Path(os.environ.get("TUNESMITH_LAB_STATE", DEFAULT_STATE)),
                    help="where the server's pid, token, log, settings and workspace live (default .tools/lab)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("TUNESMITH_LAB_PORT", "8888")),
                    help="first port to try (0: any free port)")
    ap.add_argument("--open", help="open this file (relative to the repository) instead of the tutorials workspace")
    ap.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server")
    ap.add_argument("--json", action="store_true", help="also print the server's details as one JSON line")
    ap.add_argument("--lab-arg", action="append", default=[], help="one more argument for `jupyter lab`")
    args = ap.parse_args()
    args.state = args.state.resolve()
    args.state.mkdir(parents=True, exist_ok=True)
    return stop(args.state) if args.stop else start(args, args.state)


if __name__ == "__main__":
    sys.exit(main())
