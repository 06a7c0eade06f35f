"""The app in a real headless Chromium (Debian's chromium driven by Playwright), one shared
``workbench app`` process on a workspace made by the tiny model: every page renders (screenshot and
render time of each), a training run launched from the Train page finishes with its curves, another
is stopped and resumed, and two review items are labelled with the keyboard and a click on the severity
(rows checked in labels.db).

The tests run in file order and share the server; screenshots go to $WORKBENCH_APP_SCREENSHOTS or
pytest's tmp dir."""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = pytest.mark.browser

PAGES = {"Overview": "", "Corpus": "corpus", "Train": "train", "Compare": "compare", "Review": "review?annotator=screenshot"}
RUN_TIMEOUT_MS = 240_000


def wait_idle(page, timeout: float = 60_000) -> None:
    """Until the script run is over: the page's title drawn and the 'running' indicator gone."""
    page.wait_for_selector("h1", timeout=timeout)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def run_state(page, name: str) -> str:
    """The state badge of run ``name`` on the Train page ('' while another run is shown)."""
    line = page.locator('[data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile(rf"^(queued|running|stopping|stopped|finished|failed)\s+{re.escape(name)}\s+·"))
    return line.first.inner_text().split()[0] if line.count() else ""


def wait_state(page, name: str, states: tuple[str, ...], timeout_ms: float = RUN_TIMEOUT_MS) -> str:
    deadline = time.time() + timeout_ms / 1000
    last = ""
    while time.time() < deadline:
        try:
            last = run_state(page, name)
        except Exception:  # noqa: BLE001 - the panel is being redrawn
            last = ""
        if last in states:
            return last
        time.sleep(0.5)
    raise AssertionError(f"run still '{last}' after {timeout_ms / 1000:.0f} s, wanted {states}")


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def launch_run(page, app_server, name: str, max_tokens: int) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_server['url']}/train")
    wait_idle(page)
    page.get_by_text("New run", exact=True).click()
    choose(page, "Model", "tiny-llama")
    wait_idle(page)
    budget = page.get_by_label("Training budget (tokens)")
    # the form refilled from the new model's settings (no preset is made for it: the plain defaults),
    # not the default model's preset's 16384
    expect(budget).to_have_value("50000", timeout=30_000)
    budget.fill(str(max_tokens))
    budget.press("Enter")
    wait_idle(page)
    name_box = page.get_by_label("Run name")
    name_box.fill(name)
    name_box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=re.compile("Launch training")).click()
    page.wait_for_url(re.compile(rf"run={name}"), timeout=60_000)
    wait_idle(page)


def wait_page(page, title: str, timeout: float = 60_000) -> None:
    page.wait_for_function("t => document.querySelector('h1') && document.querySelector('h1').innerText.trim() === t",
                           arg=title, timeout=timeout)
    wait_idle(page, timeout)


def test_every_page_renders_with_a_screenshot(page, app_server, screenshot_dir):
    """Each page loaded from its address (a fresh page load, the server's first run of it), then
    again by the sidebar as a user moves around; both times are printed, not asserted."""
    loaded, navigated = {}, {}
    for title, path in PAGES.items():
        start = time.perf_counter()
        page.goto(f"{app_server['url']}/{path}")
        wait_page(page, title)
        loaded[title] = time.perf_counter() - start
        no_exception(page)
    for title in PAGES:
        start = time.perf_counter()
        page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
        wait_page(page, title)
        navigated[title] = time.perf_counter() - start
        no_exception(page)
        page.wait_for_timeout(300)  # let charts finish drawing before the picture
        page.screenshot(path=str(screenshot_dir / f"{title.lower()}.png"), full_page=True)
    print("\npage render time in the browser, first load (s): "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in loaded.items()))
    print("page render time in the browser, sidebar navigation (s): "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in navigated.items()))
    print(f"screenshots: {screenshot_dir}")


def test_train_launch_from_the_page_finishes_with_curves(page, app_server, screenshot_dir):
    launch_run(page, app_server, "e2e", max_tokens=4096)
    assert wait_state(page, "e2e", ("finished", "failed")) == "finished", app_server["log"].read_text()[-3000:]
    page.reload()  # a reload comes back to the same run (its name is in the address)
    wait_idle(page)
    assert run_state(page, "e2e") == "finished"
    page.locator(".js-plotly-plot").nth(2).wait_for(state="attached")  # plan memory, training, perplexity
    page.get_by_text("Training", exact=True).first.wait_for(state="attached")
    no_exception(page)
    page.screenshot(path=str(screenshot_dir / "train-finished.png"), full_page=True)
    status = (app_server["workspace"] / "runs" / "e2e" / "status.json").read_text()
    assert '"finished"' in status


def test_stop_and_resume_a_run_from_the_page(page, app_server, screenshot_dir):
    launch_run(page, app_server, "e2e-stop", max_tokens=24_576)
    wait_state(page, "e2e-stop", ("running",))
    metrics = app_server["workspace"] / "runs" / "e2e-stop" / "metrics.jsonl"
    deadline = time.time() + 120
    while (not metrics.exists() or '"train"' not in metrics.read_text()) and time.time() < deadline:
        time.sleep(0.5)
    page.get_by_role("button", name=re.compile("Stop")).first.click()
    assert wait_state(page, "e2e-stop", ("stopped", "failed", "finished")) == "stopped", app_server["log"].read_text()[-3000:]
    page.screenshot(path=str(screenshot_dir / "train-stopped.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Resume")).first.click()
    assert wait_state(page, "e2e-stop", ("finished", "failed")) == "finished"
    rows = [line for line in metrics.read_text().splitlines() if '"train"' in line]
    steps = [int(re.search(r'"step": (\d+)', line).group(1)) for line in rows]
    total = json.loads((metrics.parent / "status.json").read_text())["total_steps"]
    assert steps == sorted(steps) and steps[-1] == total  # the curve carries on to the end, not from zero
    no_exception(page)
    page.screenshot(path=str(screenshot_dir / "train-resumed.png"), full_page=True)


def wait_text(page, text: str, timeout_ms: float = 60_000) -> None:
    """Until ``text`` shows; else fail with the page's error lines (a refused submit says why)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_text(text).first.wait_for(timeout=timeout_ms)  # a toast may repeat the text
    except PlaywrightTimeout:
        alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
        raise AssertionError(f"'{text}' never showed; the page says: {alerts}") from None


def test_label_two_items_with_the_keyboard(page, app_server, screenshot_dir):
    from workbench.review.store import LabelStore

    page.goto(f"{app_server['url']}/review?annotator=kim")
    wait_idle(page)
    page.get_by_text("0 of 3 items done").wait_for()
    page.locator("h1").first.click()  # focus on the page, not a text box
    page.keyboard.press("2")  # category 2
    wait_idle(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("major", exact=True).click()  # never assumed
    wait_idle(page)
    page.locator("h1").first.click()
    page.keyboard.press("Enter")  # submit: the whole output marked with category 2, major
    wait_text(page, "1 of 3 items done")
    wait_idle(page)
    page.locator("h1").first.click()
    page.keyboard.press("Enter")  # submit with no category: no error
    wait_text(page, "2 of 3 items done")
    no_exception(page)
    page.screenshot(path=str(screenshot_dir / "review-labelled.png"), full_page=True)
    with LabelStore(app_server["workspace"] / "labels.db") as store:
        verdicts = sorted(v.verdict for v in store.verdicts(annotator="kim"))
        labels = store.labels(annotator="kim")
        category = store.taxonomy().categories[1]
    assert verdicts == ["errors", "no_error"]
    assert [(label.category, label.severity) for label in labels] == [(category, "major")]


def select_with_the_mouse(page, frame_selector: str, slot: str, start: int, end: int) -> None:
    """Press the mouse on character ``start`` of output ``slot`` in the highlight component and release it on
    character ``end - 1``, as a person drags over the words."""
    frame = page.frame_locator(frame_selector)
    box = frame.locator(f'[data-testid="highlight-output-{slot}"]')
    box.wait_for()
    rects = box.evaluate("""(el, span) => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        const rect = (at) => {
            let node, pos = 0;
            walker.currentNode = el;
            while ((node = walker.nextNode())) {
                if (at < pos + node.length) {
                    const r = document.createRange();
                    r.setStart(node, at - pos);
                    r.setEnd(node, at - pos + 1);
                    const b = r.getBoundingClientRect();
                    return {x: b.x, y: b.y, w: b.width, h: b.height};
                }
                pos += node.length;
            }
            return null;
        };
        return [rect(span[0]), rect(span[1] - 1)];
    }""", [start, end])
    frame_box = page.locator(frame_selector).bounding_box()
    first, last = rects
    page.mouse.move(frame_box["x"] + first["x"] + 1, frame_box["y"] + first["y"] + first["h"] / 2)
    page.mouse.down()
    page.mouse.move(frame_box["x"] + last["x"] + last["w"] - 1, frame_box["y"] + last["y"] + last["h"] / 2, steps=8)
    page.mouse.up()


def test_mark_an_error_by_mouse_selection_in_output_b_and_save_with_enter(page, app_server, screenshot_dir):
    """The expert drags over words of output B, picks a category with its digit and a severity with a click,
    chooses the verdict, selects again and presses Enter: labels.db holds the span's character offsets in
    output B (the output follows from where the words were selected, whatever the output radio said)."""
    from workbench.review.items import make_item
    from workbench.review.store import LabelStore

    with LabelStore(app_server["workspace"] / "labels.db") as store:
        for item in store.items():  # the items before are someone else's, done: the pair comes next
            if not store.verdicts(item_id=item.id):
                store.submit(item.id, "pat", "no_error")
        [pair] = [make_item("pair", "What is warfarin?", [
            {"text": "Warfarin is a vitamin K antagonist given by mouth.", "model": "base"},
            {"text": "Warfarin is a low molecular weight heparin given by injection.", "model": "adapted"}],
            {"comparison": "browser", "doc_id": "w0"})]
        store.add_items([pair])
        category = store.taxonomy().categories[2]
    text_b = pair.output("B")["text"]
    words = " ".join(text_b.split()[3:5])  # two words in the middle of output B
    start = text_b.index(words)
    end = start + len(words)

    page.set_default_timeout(90_000)  # a component round trip on a busy 2-core host
    page.goto(f"{app_server['url']}/review?annotator=mia")
    wait_idle(page)
    frame = 'iframe[title*="highlight"]'
    page.locator(frame).wait_for()
    page.locator('[data-testid="stRadio"]').filter(has_text="Error in output").get_by_text("A", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("major", exact=True).click()  # never assumed
    wait_idle(page)
    page.locator('[data-testid="stRadio"]').filter(has_text="Which is better?").get_by_text("tie", exact=True).click()
    wait_idle(page)
    select_with_the_mouse(page, frame, "B", start, end)
    wait_text(page, f"Marked in output B: “{words}”")
    wait_idle(page)
    page.keyboard.press("3")  # category 3, pressed with the focus still in the outputs' frame
    page.locator('[data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile(rf"^Category\s+{re.escape(category)}\s*$")).first.wait_for(timeout=30_000)
    wait_idle(page)
    select_with_the_mouse(page, frame, "B", start, end)  # the selection is what the screen shows when saving
    wait_idle(page)
    page.keyboard.press("Enter")
    wait_text(page, "Saved: tie with 1 error(s).")
    no_exception(page)
    page.screenshot(path=str(screenshot_dir / "review-mouse-span.png"), full_page=True)
    with LabelStore(app_server["workspace"] / "labels.db") as store:
        [label] = store.labels(annotator="mia")
        [verdict] = store.verdicts(annotator="mia")
    assert (label.item_id, label.output, label.start, label.end) == (pair.id, "B", start, end)
    assert (label.text, label.category, label.severity, verdict.verdict) == (words, category, "major", "tie")
