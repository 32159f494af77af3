#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a technician and a car owner see (issue 18), end to end.

The demo's guided test (tests/vm/report-guest: bodydiag-sim with a fault on can1,
bodydiagd on can0, `bodydiag diagnose` with the simulator pressing the buttons) runs in
the CAN bench for three faults and a healthy car; their histories, captures and screens
come back. Then, on this host:

1. `bodydiag report` of each session, rendered by headless Chromium at 1280 px and at
   390 px (a phone), with a script added to a copy of the page that measures the DOM:
   no JSON in any text of the page, no horizontal scroll at 1280 px, the chain's seven
   links with their states, every timeline lane with its unit and its y-axis, the
   cause's title (the rules' title, not its id) and the answer sentence, every DTC with
   the profile's text. Screenshots of the whole page at both widths are kept in
   BUILD/tests/report-artefacts/ (looked at by people: the issue asks for it) and
   checked not to be blank.
2. `bodydiag report --pdf` (A4 and Letter): pdfinfo's page size, pdftotext's page 1
   holding the answer sentence and the chain's links, pdftoppm's PNG of page 1 not blank,
   every cause on the same page as its advice (page breaks keep a cause with its
   evidence); without Chromium, a clear error.
3. Every human-output command on the captures and histories (decode, analyze, analyze
   --summary, changes, uds, history, report's visible text) and the guest's screens
   (diagnose; status, ecus, dtc, did, mark, live before the test): no raw epoch
   timestamp, no number with more than 15 significant digits. The checker is shown to
   catch both first.

A missing Chromium, poppler-utils or VM bench is a failure, never a skip.

Usage: test-report.py BODYDIAG RUN_BENCH BODYDIAG_SIM BODYDIAGD [--cache DIR]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
import pngread  # noqa: E402

ROOT = os.environ.get("BODYDIAG_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BODYDIAG_BUILD_ROOT", os.getcwd())
FAULTS = ["fuse_blown", "latch_jammed", "fob_battery_weak", "healthy"]
# the leading finding's title in the rules (rules/trunk.rules)
TITLES = {"fuse_blown": "Trunk release fuse blown", "latch_jammed": "Latch jammed or rusted",
          "fob_battery_weak": "Key fob battery weak",
          "healthy": "No fault found in the release chain"}
LINKS = ["Fob", "Receiver", "BCM request", "Output command", "Current", "Latch", "Ajar switch"]
WIDTHS = (1280, 390)

failures = []
points = 0


def check(cond, what, detail=""):
    """One TAP test point; the detail of a failure as comment lines."""
    global points
    points += 1
    print(("ok" if cond else "not ok") + f" {points} - " + what, flush=True)
    if not cond:
        failures.append(what)
        for line in str(detail).splitlines()[-20:]:
            print("# " + line)
    return cond


# ---- 3. the clock and the numbers of human output ----

EPOCH = re.compile(r"(?<![\w.+#-])(1[4-9]\d{8}(?:\.\d+)?|1[4-9]\d{11}|1[4-9]\d{14,15})(?![\w.])")
NUMBER = re.compile(r"(?<![\w.])-?(\d+\.\d+(?:[eE][-+]?\d+)?)(?![\w.])")


def significant(text):
    digits = text.lower().split("e")[0].replace(".", "").lstrip("0")
    return len(digits)


def human_problems(text):
    """Raw epoch timestamps and numbers of more than 15 significant digits in text."""
    out = []
    for m in EPOCH.finditer(text):
        out.append(f"raw epoch {m.group(1)!r} in: {line_of(text, m.start())}")
    for m in NUMBER.finditer(text):
        if significant(m.group(1)) > 15:
            out.append(f"{significant(m.group(1))} digits {m.group(1)!r} in: {line_of(text, m.start())}")
    return out


def line_of(text, pos):
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return text[a:b if b >= 0 else len(text)].strip()[:160]


def human_outputs(bodydiag, out):
    """Every human-output command on what the guest brought back."""
    cap, marks, db = (os.path.join(out, "guest", "fuse_blown" + e) for e in (".log", ".marks", ".db"))
    profile = os.path.join(ROOT, "profiles", "sim-2026.profile")
    dbc = os.path.join(ROOT, "dbc", "bodydiag-sim.dbc")
    runs = {
        "decode": ["decode", "--dbc", dbc, cap],
        "analyze": ["analyze", "--profile", profile, "--marks", marks, cap],
        "analyze --summary": ["analyze", "--summary", "--profile", profile, "--marks", marks, cap],
        "changes": ["changes", "--profile", profile, "--marks", marks, cap],
        "uds": ["uds", "--profile", profile, cap],
        "history": ["history", "--db", db],
    }
    texts = {}
    for name, args in runs.items():
        r = subprocess.run([bodydiag] + args, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and r.stdout, f"bodydiag {name} on the demo's capture",
              r.stderr[-300:])
        texts[name] = r.stdout + r.stderr
    for name in ["client.txt"] + [f + "-diagnose.txt" for f in FAULTS]:
        p = os.path.join(out, "guest", name)
        if check(os.path.exists(p), f"the guest's {name} came back"):
            texts[name] = open(p, encoding="utf-8", errors="replace").read()
    return texts


# ---- 1. the page in Chromium ----

# What the page shows, measured in it (evaluated by the DevTools protocol, cdp.py).
MEASURE = r"""
(() => {
  const r = {};
  const de = document.documentElement;
  r.scrollWidth = de.scrollWidth; r.clientWidth = de.clientWidth;
  r.scrollHeight = de.scrollHeight;
  r.visible = document.body.innerText;
  r.all = document.body.textContent;
  r.answer = (document.querySelector('#answer .sentence') || {}).textContent || '';
  r.next = (document.querySelector('#answer .next') || {}).textContent || '';
  r.chain = [...document.querySelectorAll('.strip li')].map(li => [li.textContent, li.dataset.state]);
  r.chainLabels = [...document.querySelectorAll('.strip li .n')].map(e => e.textContent);
  r.links = [...document.querySelectorAll('details.link')].map(
      d => [d.id, d.querySelectorAll('.why li').length, !!d.querySelector('summary')]);
  r.causes = [...document.querySelectorAll('article.cause h3')].map(
      h => h.firstChild.textContent.replace(/^\d+\.\s*/, '').trim());
  r.lanes = [...document.querySelectorAll('#timeline g.lane')].map(g => ({
      series: g.dataset.series, unit: (g.querySelector('text.unit') || {}).textContent || '',
      state: g.dataset.unit === 'state',
      axis: !!g.querySelector('line.axis'), ticks: g.querySelectorAll('text.tick').length}));
  r.marks = document.querySelectorAll('#timeline line.mark').length;
  r.thresholds = document.querySelectorAll('#timeline line.thr').length;
  r.timeAxis = !!document.querySelector('#timeline g.time line.axis');
  r.timelineBox = (() => { const b = document.querySelector('.scroll');
      return b ? [b.scrollWidth, b.clientWidth] : [0, 0]; })();
  r.dtcs = [...document.querySelectorAll('table.dtcs tbody tr')].map(tr => ({
      code: tr.querySelector('.code').textContent, text: tr.querySelector('.text').textContent,
      bits: [...tr.querySelectorAll('.bit')].map(b => [b.textContent, b.classList.contains('faint')])}));
  r.folded = document.querySelectorAll('details.fold li').length;
  return JSON.stringify(r);
})()
"""


def measure(browser, html_path, width):
    try:
        browser.open("file://" + html_path, width)
        return json.loads(browser.evaluate(MEASURE))
    except (RuntimeError, EOFError, TimeoutError, ValueError) as e:
        check(False, f"chromium measures {os.path.basename(html_path)} at {width} px", str(e))
        return None


JSONISH = re.compile(r'\{\s*"|"\s*:\s*[\[{"\d]|\[\s*\{|\\"|"kind"|"condition"')


def check_page(name, m, width):
    where = f"{name} at {width} px"
    check(not JSONISH.search(m["all"]), f"{where}: no JSON in the page's text",
          JSONISH.search(m["all"]).group(0) if JSONISH.search(m["all"]) else "")
    if width == 1280:
        check(m["scrollWidth"] <= m["clientWidth"],
              f"{where}: no horizontal scroll ({m['scrollWidth']} <= {m['clientWidth']})")
    else:
        # the timeline scrolls in its own box on a phone; the page itself does not
        check(m["clientWidth"] == width and m["scrollWidth"] <= m["clientWidth"],
              f"{where}: the page does not scroll sideways ({m['scrollWidth']} <= {m['clientWidth']}), "
              f"the timeline does in its box ({m['timelineBox']})")
    check(m["answer"].strip() != "" and m["next"].strip() != "",
          f"{where}: the answer sentence and the next check ({m['answer'][:80]!r})")
    check([c[1] for c in m["chain"]] and len(m["chain"]) == 7 and
          all(s in ("working", "failing", "not exercised", "not observable") for _, s in m["chain"]),
          f"{where}: the chain's seven links with a state each ({[s for _, s in m['chain']]})")
    check(all(any(l in c for c in m["chainLabels"]) for l in LINKS),
          f"{where}: the chain named fob to ajar switch ({m['chainLabels']})")
    check(len(m["links"]) == 7 and all(s for _, _, s in m["links"]),
          f"{where}: each link's evidence one click away (details/summary)")
    # a number lane's axis has ticks; a state lane names every level it took (one, when
    # it kept its state all along)
    bad = [l for l in m["lanes"] if not (l["unit"] and l["axis"] and l["ticks"] >= (1 if l["state"] else 2))]
    check(m["lanes"] and not bad,
          f"{where}: every lane has its unit and a y-axis with ticks ({len(m['lanes'])} lanes)", str(bad))
    check(m["timeAxis"] and m["marks"] >= 1, f"{where}: a time axis and the actions as marks ({m['marks']})")
    want = TITLES[name]
    check(want in m["causes"] or (name == "healthy" and want in m["answer"] + " ".join(m["causes"])),
          f"{where}: the cause by its title, {want!r} ({m['causes']})")
    check(not any(re.fullmatch(r"[a-z_]+", c) for c in m["causes"]),
          f"{where}: no cause shown by its id")
    return m


def check_dtcs(name, m, bodydiag, db):
    d = m["dtcs"]
    # every code the test's reads returned (the history's snapshots of the session), also
    # those whose status the daemon knew already (`bodydiag dtc` before the first test)
    r = subprocess.run([bodydiag, "history", "--db", db, "--format", "jsonl", "--kind", "dtc",
                        "--session", "1"], capture_output=True, text=True, timeout=60)
    read = {json.loads(l)["code"] for l in r.stdout.splitlines() if l.strip()}
    check(read and {x["code"] for x in d} == read,
          f"{name}: every DTC the test read is listed ({len(d)} of {len(read)})")
    check(all(x["text"] and "no text in the vehicle profile" not in x["text"] for x in d),
          f"{name}: every DTC with the profile's text",
          str([x for x in d if "no text" in x["text"]]))
    failed = [i for i, x in enumerate(d) if any(b[0] == "failed now" for b in x["bits"])]
    quiet = [i for i, x in enumerate(d) if all(b[1] for b in x["bits"])]
    check(not failed or not quiet or max(failed) < min(quiet), f"{name}: failed codes first")
    check(all(b[1] for x in d for b in x["bits"] if b[0] == "not tested since clear"),
          f"{name}: 'not tested since clear' in grey")
    known = {"failed now", "confirmed", "pending", "failed since the last clear", "warning lamp on",
             "not tested since clear", "no failure"}
    check(all(b[0] in known for x in d for b in x["bits"]),
          f"{name}: status bits in words ({sorted({b[0] for x in d for b in x['bits']})})")


def screenshot(browser, width, height, png):
    try:
        browser.screenshot(png, width, height)
    except (RuntimeError, EOFError, TimeoutError) as e:
        check(False, f"screenshot {os.path.basename(png)}", str(e))
        return
    w, h, bpp, rows = pngread.decode_png(open(png, "rb").read())
    check((w, h) == (width, height) and len(pngread.colours(rows, bpp)) >= 16 and
          pngread.ink(rows, bpp) > 0.02,
          f"{os.path.basename(png)}: {w}x{h}, not blank ({pngread.ink(rows, bpp):.2f} ink)")


# ---- 2. the PDF ----

def check_pdf(bodydiag, db, name, out, answer, paper):
    pdf = os.path.join(out, f"{name}-{paper}.pdf")
    r = subprocess.run([bodydiag, "report", "--db", db, "--pdf", pdf, "--paper", paper],
                       capture_output=True, text=True, timeout=180)
    if not check(r.returncode == 0 and open(pdf, "rb").read(4) == b"%PDF",
                 f"{name}: bodydiag report --pdf --paper {paper}", r.stderr[-300:]):
        return
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    want = (595, 842) if paper == "a4" else (612, 792)
    check(size and (round(float(size.group(1))), round(float(size.group(2)))) == want,
          f"{name}: {paper} pages ({size.group(0) if size else info[:100]})")
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    p1 = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", pdf, "-"],
                        capture_output=True, text=True).stdout
    flat = " ".join(p1.split())
    check(" ".join(answer.split())[:60] in flat, f"{name}: page 1 has the answer sentence",
          flat[:300])
    # the strip's boxes are narrow on paper: a name may wrap inside its box
    words = set(flat.split())
    check(all(w in words for l in LINKS for w in l.split()) and
          sum(flat.count(s) for s in ("working", "failing", "not tested", "observable")) >= 7,
          f"{name}: page 1 has the chain picture's links and their states")
    png = os.path.join(out, f"{name}-{paper}-page1")
    r = subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", pdf, png],
                       capture_output=True, text=True)
    if check(r.returncode == 0 and os.path.exists(png + ".png"), f"{name}: pdftoppm page 1"):
        w, h, bpp, rows = pngread.decode_png(open(png + ".png", "rb").read())
        check(pngread.ink(rows, bpp) > 0.02 and len(pngread.colours(rows, bpp, 2)) >= 8,
              f"{name}: page 1 as PNG is not blank ({w}x{h}, {pngread.ink(rows, bpp):.2f} ink)")
    # a cause's title and its advice on one page (break-inside: avoid)
    for n in range(1, pages + 1):
        t = " ".join(subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), pdf, "-"],
                                    capture_output=True, text=True).stdout.split())
        for cause in re.findall(r"\b\d+\. ([A-Z][^.]{5,80}?) (?:found|possible: not decided yet) "
                                r"Why we think so", t):
            check("What to do" in t[t.find(cause):],
                  f"{name}: page {n}: '{cause}' with its evidence and advice on one page")


def main():
    args = [a for a in sys.argv[1:]]
    cache = None
    if "--cache" in args:
        i = args.index("--cache")
        cache = args[i + 1]
        del args[i:i + 2]
    if len(args) != 4:
        sys.exit(__doc__)
    # absolute: the bench copies each file to the same path in the guest
    bodydiag, bench, sim, daemon = (os.path.abspath(a) for a in args)
    exe = shutil.which("chromium")
    for tool, pkg in ((exe, "chromium"), (shutil.which("pdftotext"), "poppler-utils"),
                      (shutil.which("pdftoppm"), "poppler-utils")):
        if not tool:
            print(f"Bail out! {pkg} is not installed (tools/install-deps installs it)")
            return 1
    print("# the guided tests in the CAN bench: about a minute and a half", flush=True)
    out = os.path.join(BUILD, "tests", "report-artefacts")
    # BD_REPORT_REUSE=1 (by hand, while working on the page): the last run's guest files
    reuse = os.environ.get("BD_REPORT_REUSE") == "1" and os.path.exists(
        os.path.join(out, "guest", "healthy.db"))
    if not reuse:
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.join(out, "guest"))

    # the checker catches what it must, before it is trusted with the outputs
    check(any("raw epoch" in p for p in human_problems("(1796383618.023803) can0 123#00")) and
          len(human_problems("SAS_Angle: 2.3000000000000003")) == 1 and
          len(human_problems("battery_low = 11.800000000000001")) == 1 and
          not human_problems("2026-12-04T16:08:33.500016Z +1.493 s 12.24 V 1BDSM26T4TR000042"),
          "the human-output checker finds a raw epoch and a 17-digit double, and passes ISO times")

    env = dict(os.environ, BD_REPORT_OUT=os.path.join(out, "guest"))
    cmd = [bench, "--plain", "--timeout", "900", "--out", os.path.join(out, "guest")]
    if cache:
        cmd += ["--cache", cache]
    for c in (sim, daemon, bodydiag, os.path.join(ROOT, "dbc", "bodydiag-sim.dbc"),
              os.path.join(ROOT, "profiles", "sim-2026.profile"),
              os.path.join(ROOT, "rules", "trunk.rules")):
        cmd += ["--copy", c]
    cmd += ["--run", os.path.join(ROOT, "tests", "vm", "report-guest")]
    if not reuse:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
        print("\n".join("# " + l for l in r.stdout.splitlines() if "report-guest:" in l or "VM:" in l))
        if not check(r.returncode == 0, "the guided tests ran in the CAN bench",
                     r.stdout[-1500:] + r.stderr[-500:]):
            print(f"1..{points}")
            return 1

    with tempfile.TemporaryDirectory(prefix="bodydiag-report.") as tmp:
        answers = {}
        try:
            browser = cdp.Browser(exe, os.path.join(tmp, "profile"))
        except (RuntimeError, EOFError, TimeoutError, OSError, StopIteration) as e:
            check(False, "headless chromium over the DevTools pipe", str(e))
            print(f"1..{points}")
            return 1
        for name in FAULTS:
            db = os.path.join(out, "guest", name + ".db")
            page = os.path.join(out, name + ".html")
            r = subprocess.run([bodydiag, "report", "--db", db, "-o", page], capture_output=True,
                               text=True, timeout=60)
            if not check(r.returncode == 0, f"{name}: bodydiag report -o", r.stderr[-300:]):
                continue
            for width in WIDTHS:
                m = measure(browser, page, width)
                if not m:
                    continue
                check_page(name, m, width)
                if width == 1280:
                    check_dtcs(name, m, bodydiag, db)
                    answers[name] = m["answer"]
                    check(not human_problems(m["visible"]), f"{name}: the page's text has one clock",
                          "; ".join(human_problems(m["visible"])[:3]))
                screenshot(browser, width, min(m["scrollHeight"], 16000),
                           os.path.join(out, f"{name}-{width}.png"))
        browser.close()
        for name, paper in (("fuse_blown", "a4"), ("latch_jammed", "letter"), ("healthy", "a4")):
            if name in answers:
                check_pdf(bodydiag, os.path.join(out, "guest", name + ".db"), name, out,
                          answers[name], paper)
        r = subprocess.run([bodydiag, "report", "--db", os.path.join(out, "guest", "fuse_blown.db"),
                            "--pdf", os.path.join(tmp, "x.pdf")], capture_output=True, text=True,
                           env=dict(os.environ, BODYDIAG_CHROMIUM="/nonexistent/chromium"))
        check(r.returncode == 1 and "--pdf needs Chromium" in r.stderr and
              not os.path.exists(os.path.join(tmp, "x.pdf")),
              "without Chromium, --pdf says so and writes nothing", r.stderr)

    for name, text in human_outputs(bodydiag, out).items():
        p = human_problems(text)
        check(not p, f"{name}: one clock, numbers as people write them", "; ".join(p[:3]))
    print(f"# artefacts (screenshots, PDFs, pages) in {out}")
    print(f"# {len(failures)} of {points} failed")
    print(f"1..{points}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
