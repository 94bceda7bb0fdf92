"""The real-client test: a tutorial run in JupyterLab in a real browser, as a person runs it.

    python scripts/browser_lab.py notebooks/00_quick_look.ipynb --out out/browser [--self-check]

(run with scripts/env.sh sourced, as tests/browser_lab.rs does). It installs Debian's `chromium`
and `chromium-driver` with apt-get when they are absent, starts JupyterLab through scripts/lab.py
(the same code as `make lab`, with its own state folder, autosave off so the notebook on disk is
never changed), opens the notebook, picks **Run ▸ Run All Cells** from the menu bar, waits until the
kernel is idle with every cell run, and then checks what the page shows:

  - every code cell ran (an execution count in its prompt) and no cell shows an error or stderr;
  - each code cell shows what its metadata `tunesmith.expect` promises: `sheet` (engraved sheet
    music: an SVG with notes inside `.tunesmith-sheet`), `svg` (another SVG picture, drawn with a
    size), `audio` (an `<audio>` element whose media loads with a duration above zero and plays),
    `table` (an HTML table);
  - no display says its sheet music is missing.

Screenshots go to OUT (opened, the Run menu, running, done, and one per code cell) with report.json.
With --self-check it then runs a small notebook whose cells break each promise (audio that cannot
load, sheet music that is not there, a cell that does not compile) and fails unless the checks
catch every one of them. Exit status 0 only when everything passed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# JupyterLab settings for the test: never save (the notebook in the repository stays as it is), and
# keep every cell in the page (JupyterLab 4 otherwise leaves cells outside the window out of the DOM).
TEST_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def log(msg):
    print(f"browser: {msg}", flush=True)


def ensure_chromium():
    """Installs Debian's chromium and chromium-driver when absent (as root), never a downloaded browser."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.geteuid() != 0:
        sys.exit(f"browser: {CHROMIUM} or {CHROMEDRIVER} is missing: install the system packages "
                 "`chromium` and `chromium-driver` (as root: apt-get install chromium chromium-driver)")
    log("installing chromium and chromium-driver with apt-get (once per machine)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env)


def start_browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1100",
              "--autoplay-policy=no-user-gesture-required", "--mute-audio"]:
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_script_timeout(90)
    return driver


def start_lab(state, open_path):
    """JupyterLab through scripts/lab.py (what `make lab` runs), on a free port, autosave off."""
    for rel, value in TEST_SETTINGS.items():
        path = state / "user-settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lab.py"), "--state", str(state), "--port", "0",
         "--open", open_path, "--json", "--lab-arg=--expose-app-in-browser"],
        check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("lab:"):
            log(line)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stop_lab(state):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "lab.py"), "--state", str(state), "--stop"], check=False)


# --- what the page shows -------------------------------------------------------------------------

# The notebook panel in front (JupyterLab's current widget; the app is exposed to the page).
PANEL = "(window.jupyterapp && window.jupyterapp.shell.currentWidget ? window.jupyterapp.shell.currentWidget.node : null)"

JS_STATE = """
const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
const ctx = panel && panel.sessionContext;
const p = """ + PANEL + """;
const cells = p ? [...p.querySelectorAll('.jp-CodeCell')] : [];
return {
  status: ctx && ctx.session && ctx.session.kernel ? ctx.session.kernel.status : 'none',
  kernel: ctx ? ctx.kernelDisplayName : '',
  prompts: cells.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || ''),
  errors: cells.filter(c => c.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]')).length,
};"""

JS_CELLS = """
const p = """ + PANEL + """;
const panel = window.jupyterapp.shell.currentWidget;
const size = el => { const r = el.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
return [...p.querySelectorAll('.jp-CodeCell')].map((c, i) => {
  const outs = [...c.querySelectorAll('.jp-OutputArea-output')];
  const inOut = sel => outs.flatMap(o => [...o.querySelectorAll(sel)]);
  const model = panel.content.widgets.filter(w => w.model.type === 'code')[i];
  const modelErrors = model ? model.model.outputs.toJSON().filter(o => o.output_type === 'error')
                                .map(o => o.ename + ': ' + o.evalue) : [];
  return {
    prompt: (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    stderr: outs.filter(o => o.matches('[data-mime-type="application/vnd.jupyter.stderr"]') ||
                             o.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]'))
                .map(o => o.textContent.slice(0, 2000)),
    modelErrors,
    sheets: inOut('.tunesmith-sheet > svg').map(s => ({notes: s.querySelectorAll('g.note').length, size: size(s)})),
    sheetNotes: inOut('.tunesmith-sheet-missing, .tunesmith-sheet-error').map(e => e.textContent),
    svgs: inOut('svg').filter(s => !s.parentElement.closest('svg') && !s.closest('.tunesmith-sheet'))
            .map(s => ({size: size(s)}))
          .concat(inOut('img').filter(i => (i.getAttribute('src') || '').startsWith('data:image/svg+xml'))
            .map(i => ({size: size(i), natural: [i.naturalWidth, i.naturalHeight]}))),
    audios: inOut('audio').length,
    tables: inOut('table').length,
  };
});"""

JS_AUDIO = """
const done = arguments[arguments.length - 1];
const p = """ + PANEL + """;
const cells = [...p.querySelectorAll('.jp-CodeCell')];
const audios = [...p.querySelectorAll('.jp-OutputArea-output audio')];
Promise.all(audios.map(a => new Promise(resolve => {
  const cell = cells.indexOf(a.closest('.jp-CodeCell'));
  let settled = false;
  const report = extra => { if (settled) return; settled = true;
    resolve(Object.assign({cell, readyState: a.readyState, duration: a.duration,
      error: a.error ? a.error.code : null, src: (a.currentSrc || a.src || '').slice(0, 30)}, extra || {})); };
  const play = () => {
    if (!(a.duration > 0)) return report();
    a.muted = true;
    a.play().then(() => setTimeout(() => { const t = a.currentTime; a.pause(); report({played: t}); }, 1500))
            .catch(e => report({playError: String(e)}));
  };
  if (a.readyState >= 1) return play();
  a.addEventListener('loadedmetadata', play, {once: true});
  a.addEventListener('error', () => report(), {once: true});
  setTimeout(() => report({timeout: true}), 30000);
  a.load();
}))).then(done);"""


def wait_for(driver, js, what, timeout, poll=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = driver.execute_script(js)
            if value:
                return value
        except Exception:  # the page is still loading: try again
            pass
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_all(driver, shots, timeout):
    """Run ▸ Run All Cells from the menu bar, then wait until every cell ran or the run stopped."""
    from selenium.webdriver.common.by import By

    menu = [m for m in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
            if m.text.strip() == "Run"]
    if not menu:
        raise RuntimeError("no Run menu in the menu bar")
    menu[0].click()
    item = wait_for(driver, "const l = [...document.querySelectorAll('.lm-Menu-itemLabel')]"
                            ".find(e => e.textContent.trim() === 'Run All Cells');"
                            "return l ? l.closest('.lm-Menu-item') : null;",
                    "the Run All Cells menu item", 10)
    driver.save_screenshot(str(shots / "02-run-menu.png"))
    item.click()
    start = time.time()
    last_log, shot_taken, quiet_since, unknown_since = 0.0, False, None, None
    while True:
        time.sleep(1.0)
        st = driver.execute_script(JS_STATE)
        elapsed = time.time() - start
        if not shot_taken and elapsed > 5:
            driver.save_screenshot(str(shots / "03-running.png"))
            shot_taken = True
        if st["status"] == "dead":
            raise RuntimeError(f"the kernel is dead after {elapsed:.0f} s")
        # JupyterLab shows "unknown" while it (re)connects to the kernel ("Connecting" in the
        # status bar), for instance when a second page opens a kernel of the same server; only a
        # kernel that stays unknown is a failure.
        if st["status"] in ("unknown", "none"):
            unknown_since = unknown_since or time.time()
            if time.time() - unknown_since > 30:
                raise RuntimeError(f"the kernel is {st['status']} after {elapsed:.0f} s")
            continue
        unknown_since = None
        running = any("*" in p for p in st["prompts"])
        ran = all(any(ch.isdigit() for ch in p) for p in st["prompts"])
        if st["status"] == "idle" and not running and (ran or st["errors"]):
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 2.0:
                return elapsed
        else:
            quiet_since = None
        if elapsed - last_log > 30:
            log(f"  {elapsed:.0f} s: kernel {st['status']}, prompts {' '.join(p.strip() for p in st['prompts'])}")
            last_log = elapsed
        if elapsed > timeout:
            raise TimeoutError(f"cells still running after {timeout:.0f} s: {st['prompts']}")


def check(cells, audios, expects):
    """Everything wrong with the page, as (cell index, problem) pairs."""
    problems = []
    by_cell = {}
    for a in audios:
        by_cell.setdefault(a["cell"], []).append(a)
    for i, c in enumerate(cells):
        want = set(expects[i]) if i < len(expects) else set()
        if not any(ch.isdigit() for ch in c["prompt"]):
            problems.append((i, f"did not run (prompt {c['prompt'].strip()!r})"))
        for e in c["modelErrors"]:
            problems.append((i, f"error output: {e[:300]}"))
        for e in c["stderr"]:
            problems.append((i, f"stderr output: {e[:300]}"))
        for note in c["sheetNotes"]:
            problems.append((i, f"sheet music missing: {note[:200]}"))
        if "sheet" in want and not any(s["notes"] > 0 and min(s["size"]) > 0 for s in c["sheets"]):
            problems.append((i, f"no sheet music with notes (found {c['sheets']})"))
        if "svg" in want and not any(min(s["size"]) > 0 and min(s.get("natural", [1])) > 0 for s in c["svgs"]):
            problems.append((i, f"no SVG picture drawn (found {c['svgs']})"))
        if "table" in want and c["tables"] == 0:
            problems.append((i, "no table"))
        if "audio" in want and c["audios"] == 0:
            problems.append((i, "no audio player"))
        for a in by_cell.get(i, []):
            if not (isinstance(a["duration"], (int, float)) and a["duration"] > 0) or a.get("error"):
                problems.append((i, f"audio did not load: {a}"))
            elif not a.get("played", 0) > 0:
                problems.append((i, f"audio loaded but did not play: {a}"))
    return problems


def run_notebook(driver, info, nb_rel, shots, timeout):
    """Opens the notebook, runs all cells through the menu, returns (report, problems)."""
    expects = [c.get("metadata", {}).get("tunesmith", {}).get("expect", [])
               for c in json.loads((ROOT / nb_rel).read_text())["cells"] if c["cell_type"] == "code"]
    shots.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    driver.get(f"{info['base']}/lab/tree/{nb_rel}?token={info['token']}")
    wait_for(driver, "const p = " + PANEL + "; return p && p.querySelectorAll('.jp-CodeCell').length;",
             "the notebook to open", 120)
    st = wait_for(driver, "const s = (function(){" + JS_STATE + "})(); return s.status === 'idle' ? s : null;",
                  "the kernel to start", 120)
    opened = time.time() - t0
    log(f"opened {nb_rel} in {opened:.1f} s; kernel {st['kernel']!r} idle; {len(st['prompts'])} code cells")
    driver.save_screenshot(str(shots / "01-opened.png"))
    ran = run_all(driver, shots, timeout)
    log(f"Run All Cells finished in {ran:.1f} s")
    driver.save_screenshot(str(shots / "04-done.png"))
    cells = driver.execute_script(JS_CELLS)
    audios = driver.execute_async_script(JS_AUDIO)
    for i, el in enumerate(driver.execute_script("return [..." + PANEL + ".querySelectorAll('.jp-CodeCell')]")):
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", el)
        time.sleep(0.3)
        driver.save_screenshot(str(shots / f"cell-{i + 1:02}.png"))
    problems = check(cells, audios, expects)
    if st["kernel"] != "Rust (tunesmith)":
        problems.append((-1, f"the notebook's kernel is {st['kernel']!r}, not 'Rust (tunesmith)'"))
    report = {"notebook": nb_rel, "open_seconds": round(opened, 1), "run_all_seconds": round(ran, 1),
              "kernel": st["kernel"], "cells": cells, "audio": audios, "expect": expects,
              "problems": [f"cell {i + 1}: {p}" for i, p in problems]}
    return report, problems


def self_check_notebook(path):
    """A notebook whose every cell breaks a promise the checks must catch. Plain Rust, no :dep."""
    import nbformat as nbf

    def cell(src, *expect):
        c = nbf.v4.new_code_cell(src)
        c.metadata["tunesmith"] = {"expect": list(expect)}
        return c

    html = 'println!("EVCXR_BEGIN_CONTENT text/html\\n{}\\nEVCXR_END_CONTENT", {:?});'
    nb = nbf.v4.new_notebook(cells=[
        cell(html.replace("{:?}", '"<audio controls src=\\"data:audio/ogg;base64,T2dnUwAAAAAAAAAA\\"></audio>"'), "audio"),
        cell(html.replace("{:?}", '"<p>no sheet music, no picture</p>"'), "sheet", "svg"),
        cell('let n: u32 = "three";\nn'),
    ])
    nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"}}
    nbf.write(nb, str(path))
    # What the checks must report, by cell: (cell index, words in the problem).
    return [(0, "audio did not load"), (1, "no sheet music"), (1, "no SVG picture"), (2, "error output")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebook", help="the notebook, relative to the repository")
    ap.add_argument("--out", default="out/browser", help="screenshots and report.json (inside the repository)")
    ap.add_argument("--timeout", type=float, default=2400, help="seconds Run All may take (the first :dep compiles the crate)")
    ap.add_argument("--self-check", action="store_true", help="also prove the checks fail on a broken notebook")
    args = ap.parse_args()
    out = (ROOT / args.out).resolve()
    if ROOT not in out.parents:
        sys.exit(f"browser: --out must be inside {ROOT}: JupyterLab serves only the repository")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    ensure_chromium()
    nb_rel = Path(args.notebook).resolve().relative_to(ROOT).as_posix()
    before = (ROOT / nb_rel).read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix="tunesmith-browser-"))
    driver = None
    failed = []
    summary = {}
    t0 = time.time()
    try:
        info = start_lab(tmp / "lab", nb_rel)
        summary["lab_start_seconds"] = round(time.time() - t0, 1)
        driver = start_browser(tmp / "profile")
        report, problems = run_notebook(driver, info, nb_rel, out, args.timeout)
        summary["notebook"] = report
        failed += report["problems"]
        if args.self_check:
            # A fresh browser: the tutorial's page has unsaved outputs, and leaving it would ask.
            driver.quit()
            driver = start_browser(tmp / "profile-self-check")
            sc_rel = (out / "selfcheck.ipynb").relative_to(ROOT).as_posix()
            wanted = self_check_notebook(ROOT / sc_rel)
            sc_report, sc_problems = run_notebook(driver, info, sc_rel, out / "selfcheck", 600)
            summary["self_check"] = sc_report
            missed = [(i, words) for i, words in wanted
                      if not any(j == i and words in p for j, p in sc_problems)]
            for i, words in missed:
                failed.append(f"self-check: the checks did not catch '{words}' in cell {i + 1}: {sc_problems}")
            if not missed:
                log(f"self-check: all {len(wanted)} planted faults caught")
    except Exception as e:  # report and fail, with a screenshot of how the page looked
        failed.append(f"{type(e).__name__}: {e}")
        if driver:
            driver.save_screenshot(str(out / "failure.png"))
    finally:
        if driver:
            driver.quit()
        stop_lab(tmp / "lab")
        shutil.rmtree(tmp, ignore_errors=True)
    if (ROOT / nb_rel).read_bytes() != before:
        failed.append(f"{nb_rel} was changed on disk by the run")
    summary["seconds"] = round(time.time() - t0, 1)
    summary["failures"] = failed
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    for f in failed:
        log(f"FAIL {f}")
    log(f"{'FAILED' if failed else 'passed'} in {summary['seconds']:.0f} s; screenshots and report.json in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
