"""Accessibility in headless Chromium: axe-core (WCAG 2.0/2.1 A and AA) over the main pages of
every role, as loaded and after an empty submit, at 1,280 and 768 px; every field's description
and error reachable through the ids it names; a focus ring of at least 3:1 on every background.

axe-core comes from npm (package-lock.json, installed by `make install`) and is injected by
Playwright; the axe pages run in a context that bypasses the Content-Security-Policy so the
injected script may run (the app's own pages are otherwise unchanged).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coordinators.models import CareTask, OwnerParty, TaskKind
from prrt import services
from prrt.models import CycleState
from referrals.models import ReferralState
from tests.conftest import sign_in_page
from tests.factories import PatientFactory, ReferralFactory
from tests.prrt.builders import approved_course, enter_labs

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = [1280, 768]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => v.id + " (" + v.impact + "): " + v.help + "\\n    "
    + v.nodes.map(n => n.target.join(" ") + " | " + n.html.slice(0, 160)).join("\\n    "));
}"""

# Every id a field, label or region names exists; every field error shown in a form is part of
# the description of its field (or the fieldset of its radios); an error of a form part that is a
# fieldset describes that fieldset; every invalid field is described by its error.
CHECK_REFERENCES = """() => {
  const problems = [];
  const label = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.name ? "[name=" + el.name + "]" : "");
  const described = new Set();
  const naming = "[aria-describedby],[aria-labelledby],[aria-controls]";
  for (const el of document.querySelectorAll(naming)) {
    for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
      for (const id of (el.getAttribute(attr) || "").split(/\\s+/).filter(Boolean)) {
        const target = document.getElementById(id);
        if (!target) problems.push(label(el) + " " + attr + " names #" + id + ", not on the page");
        else if (attr === "aria-describedby") described.add(target);
      }
    }
  }
  for (const el of document.querySelectorAll("label[for]")) {
    if (!document.getElementById(el.htmlFor)) problems.push("label for #" + el.htmlFor + " alone");
  }
  const isDescribed = node => {
    for (; node; node = node.parentElement) if (described.has(node)) return true;
    return false;
  };
  for (const error of document.querySelectorAll("form .field-error")) {
    const ofField = error.closest(".field-errors");
    const form = error.closest("form"), fieldset = error.closest("fieldset");
    const inPart = fieldset && form.contains(fieldset);
    if ((ofField || inPart) && !isDescribed(error)) {
      problems.push("error '" + error.textContent.trim() + "' describes nothing");
    }
  }
  for (const field of document.querySelectorAll("[aria-invalid=true]")) {
    const holder = field.closest("[aria-describedby]");
    const ids = holder ? holder.getAttribute("aria-describedby").split(/\\s+/) : [];
    const errors = ids.map(id => document.getElementById(id)).filter(Boolean)
      .filter(el => el.matches(".field-error, .errorlist") || el.querySelector(".field-error"));
    if (!errors.length) problems.push(label(field) + " is invalid; its error does not describe it");
  }
  return problems;
}"""


def _luminance(rgb):
    def channel(value):
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# The focused element's ring (its outline, drawn outside the element) and the colour of what the
# ring sits on: the first opaque background among the element's ancestors.
FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  // What is painted just outside the ring's middle, left of the element (right of it at the
  // window's edge): the first opaque background there that is not the element's own.
  const box = el.getBoundingClientRect();
  const reach = parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth) / 2;
  const y = Math.min(Math.max(box.top + box.height / 2, 0), window.innerHeight - 1);
  const x = box.left - reach >= 0 ? box.left - reach
                                  : Math.min(box.right + reach, window.innerWidth - 1);
  let background = [255, 255, 255];
  for (const node of document.elementsFromPoint(x, y)) {
    if (node === el || el.contains(node)) continue;
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) { background = c.slice(0, 3); break; }
  }
  return {what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " "
                + (el.textContent || el.value || "").trim().slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          colour: rgb(style.outlineColor).slice(0, 3), background: background};
}"""


class Audit:
    """Runs the checks on each page state and collects what fails, to report all at once."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.failures: list[str] = []
        self.states = 0

    def goto(self, path: str, name: str):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status < 400, (path, response and response.status)
        self.page.wait_for_load_state("networkidle")
        self.check(name)

    def submit_empty(self, form_selector: str, name: str, button: str | None = None):
        """Submit a form with its typed fields emptied (browser validation off)."""
        form = self.page.locator(form_selector).first
        form.evaluate("f => { f.noValidate = true; for (let d = f.closest('details'); d; "
                      "d = d.parentElement.closest('details')) d.open = true; "
                      "f.querySelectorAll('textarea, input:not([type=hidden]):not([type=checkbox])"
                      ":not([type=radio])').forEach(i => { i.value = ''; }); }")
        submit = (form.get_by_role("button", name=button) if button
                  else form.locator("button[type=submit], button:not([type])").first)
        with self.page.expect_navigation():
            submit.click()
        self.page.wait_for_load_state("networkidle")
        errors = self.page.locator(".field-error, .errorlist, .messages .message-error")
        assert errors.count() > 0, f"{name}: the empty submit showed no error"
        self.check(name)

    def check(self, name: str):
        """axe-core and the id checks, with every <details> opened so their forms count."""
        self.states += 1
        page = self.page
        closed = page.evaluate_handle("() => Array.from(document.querySelectorAll("
                                      "'details:not([hx-get]):not([open])'), d => { "
                                      "d.open = true; return d; })")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        for violation in page.evaluate(RUN_AXE, WCAG_TAGS):
            self.failures.append(f"[{name}] axe {violation}")
        for problem in page.evaluate(CHECK_REFERENCES):
            self.failures.append(f"[{name}] {problem}")
        closed.evaluate("ds => ds.forEach(d => { d.open = false; })")

    def check_focus_ring(self, name: str, tabs: int = 40):
        """Tab through the page; every focused element shows a ring of 3:1 or more."""
        page = self.page
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                      "window.scrollTo(0, 0); }")
        seen = 0
        for _ in range(tabs):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring is None:
                continue
            seen += 1
            ratio = contrast(ring["colour"], ring["background"])
            if ring["style"] == "none" or ring["width"] < 2 or ratio < 3:
                self.failures.append(
                    f"[{name}] focus ring on {ring['what']!r}: {ring['style']} "
                    f"{ring['width']}px rgb{tuple(ring['colour'])} on rgb"
                    f"{tuple(ring['background'])} = {ratio:.2f}:1")
        assert seen > 5, f"{name}: Tab reached only {seen} elements"

    def assert_clean(self):
        assert not self.failures, (f"{len(self.failures)} problems over {self.states} page "
                                   "states:\n" + "\n".join(self.failures))


@pytest.fixture
def world(centre, oncologist, specialist, navigator):
    """A cycle waiting for the specialist's decision, an approved cycle waiting for its
    infusion, an overdue task on the caseload and a referral under review."""
    today = timezone.localdate()
    waiting = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                              first_dose=today + dt.timedelta(days=2))
    enter_labs(specialist, waiting.patient, today - dt.timedelta(days=1))
    services.course_refresh(course=waiting, today=today)
    ready = waiting.cycles.get(number=1)
    assert ready.state == CycleState.READY

    approved = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                               first_dose=today + dt.timedelta(days=1), sex="M")
    enter_labs(specialist, approved.patient, today - dt.timedelta(days=1))
    cycle = services.cycle_refresh(cycle=approved.cycles.get(number=1), today=today)
    services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                          activity_gbq=Decimal("7.4"), today=today)
    cycle.refresh_from_db()
    assert cycle.state == CycleState.APPROVED

    overdue = CareTask.objects.filter(course=waiting, kind=TaskKind.LAR_INJECTION, cycle=1).update(
        owner_party=OwnerParty.CENTRE, owner_user=None, earliest=today - dt.timedelta(days=3),
        due=today - dt.timedelta(days=3), latest=today - dt.timedelta(days=2))
    assert overdue == 1
    referral = ReferralFactory(
        patient=PatientFactory(centre=centre, referring_oncologist=oncologist),
        state=ReferralState.UNDER_REVIEW)
    return {"waiting": waiting, "ready": ready, "approved": cycle, "referral": referral}


@pytest.fixture
def audit(browser, live_server, request):
    """An `Audit` of a new context of the given width, signed in as the given user."""
    assert AXE.exists(), "axe-core is missing: `make install` (npm ci) installs it"
    contexts = []

    def open_audit(username: str | None, width: int) -> Audit:
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        if username:
            sign_in_page(page, live_server.url, username)
        return Audit(page, live_server.url)

    yield open_audit
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_navigator_pages(audit, world, width):
    a = audit("navigator", width)
    patient = world["waiting"].patient
    a.goto("/navigator/", "caseload")
    task = a.page.locator(".task").first
    task.locator("details.task-actions-toggle > summary").click()
    expect(task.locator(".task-actions")).to_be_visible()
    a.check("caseload, a task's actions open")
    task.locator(".task-actions summary", has_text="Skip").click()
    task.get_by_label("Reason").first.fill("Given at the practice")
    task.get_by_role("button", name="Skip task").click()
    expect(a.page.locator("#caseload-status")).to_contain_text("recorded")
    a.check("caseload after an action")
    a.goto(f"/patients/{patient.external_id}/", "patient page")
    a.goto(f"/patients/{patient.external_id}/?record=labs", "patient page, lab form")
    a.submit_empty(f"form[action$='/patients/{patient.external_id}/labs/']", "lab form empty")
    a.goto(f"/patients/{patient.external_id}/?record=contact", "patient page, contact form")
    a.submit_empty("#log-contact form", "contact log empty")
    a.goto(f"/prrt/cycles/{world['ready'].external_id}/", "cycle page")
    a.submit_empty("#booking form", "booking form empty")
    a.goto(f"/prrt/cycles/{world['approved'].external_id}/", "administration page")
    a.submit_empty(f"form[action$='/cycles/{world['approved'].external_id}/administer/']",
                   "administration form empty")
    a.goto(f"/prrt/courses/{world['waiting'].external_id}/", "course page")
    a.goto("/prrt/courses/", "courses")
    a.goto("/referrals/inbox/", "referrals inbox")
    a.goto("/tasks/", "my tasks")
    a.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_specialist_pages(audit, world, width):
    a = audit("specialist", width)
    a.goto("/specialist/", "specialist home")
    a.goto("/prrt/approvals/", "approvals")
    a.goto(f"/referrals/{world['referral'].external_id}/", "referral review")
    a.goto(f"/prrt/cycles/{world['ready'].external_id}/", "cycle decision")
    a.submit_empty(f"form[action$='/cycles/{world['ready'].external_id}/decide/']",
                   "cycle decision empty")
    a.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_oncologist_pages(audit, world, width):
    a = audit("oncologist", width)
    patient = world["waiting"].patient
    a.goto("/oncologist/", "oncologist home")
    a.goto("/referrals/new/", "new referral")
    a.submit_empty("main form.stacked",
                   "new referral empty", button="Submit referral")
    a.goto(f"/patients/{patient.external_id}/", "patient view")
    a.goto(f"/patients/{patient.external_id}/?record=ae", "patient view, adverse event form")
    a.submit_empty(f"form[action$='/patients/{patient.external_id}/adverse-events/']",
                   "adverse event empty")
    a.goto(f"/referrals/{world['referral'].external_id}/", "referral")
    a.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_account_pages(audit, navigator, width):
    a = audit(None, width)
    a.goto("/accounts/login/", "sign in")
    a.page.get_by_label("Username").fill("navigator")
    a.page.get_by_label("Password").fill("not-the-password")
    with a.page.expect_navigation():
        a.page.get_by_role("button", name="Sign in").click()
    a.check("sign in failed")
    sign_in_page(a.page, a.base_url, "navigator")
    a.goto("/accounts/password/", "change password")
    a.submit_empty("main form[method=post]", "change password empty")
    a.goto("/accounts/mfa/", "two-factor")
    a.assert_clean()


def test_focus_ring_has_3_to_1_on_every_background(audit, world):
    """Tab through the header, the caseload's cards and the cycle page's forms."""
    a = audit("navigator", 1280)
    a.goto("/navigator/", "caseload")
    a.check_focus_ring("caseload", tabs=30)
    a.goto(f"/prrt/cycles/{world['approved'].external_id}/", "administration page")
    a.check_focus_ring("administration page", tabs=60)
    a.assert_clean()


# --- the caseload by keyboard alone (the real Content-Security-Policy applies) ----------------

ACTIVE = """() => {
  const el = document.activeElement;
  const item = el && el.closest("[data-focus-item]");
  return {tag: el ? el.tagName.toLowerCase() : null, text: el ? el.textContent.trim() : "",
          item: item ? item.id : null};
}"""


def settled_focus(page) -> dict:
    """Where focus is once htmx has settled the swap (it moves focus after its settle delay,
    a moment after the new content and the live region's text are in place)."""
    page.wait_for_function("() => document.activeElement !== document.body")
    return page.evaluate(ACTIVE)


def tab_to(page, predicate: str, limit: int = 80) -> dict:
    """Press Tab until the focused element satisfies the JS `predicate(el)`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return ({predicate}); }}"):
            return page.evaluate(ACTIVE)
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_caseload_task_done_by_keyboard(page, live_server, login, world):
    """Mark a task done with the keyboard: focus lands on the task that followed it, the live
    region (the same one, not a replaced copy) says what was recorded; a refused action puts
    focus on its error, and says so in the live region."""
    login("navigator")
    tasks = page.locator("li.task[data-focus-item]")
    assert tasks.count() >= 3, "the caseload needs tasks before and after the one acted on"
    acted = tasks.nth(0)
    acted_id = acted.get_attribute("id")
    title = acted.locator(".task-title").inner_text()
    following = tasks.nth(1).get_attribute("id")
    page.evaluate("() => { window.liveRegion = document.getElementById('caseload-status'); }")

    # Every task's "Actions" is named after its task and patient.
    names = [s.evaluate("e => e.textContent.trim()")
             for s in page.locator("details.task-actions-toggle > summary").all()]
    assert len(set(names)) == len(names) and all(n.startswith("Actions for ") for n in names)

    focused = tab_to(page, f"el.tagName === 'SUMMARY' && el.closest('#{acted_id}')")
    assert focused["text"].startswith(f"Actions for {title}")
    page.keyboard.press("Enter")
    expect(acted.locator(".task-actions")).to_be_visible()
    focused = tab_to(page, "el.tagName === 'SUMMARY' && el.textContent.startsWith('Mark done')")
    page.keyboard.press("Enter")
    focused = tab_to(page, "el.tagName === 'BUTTON' && el.textContent.startsWith('Save: done')")
    assert focused["item"] == acted_id
    page.keyboard.press("Enter")

    status = page.locator("#caseload-status")
    expect(status).to_have_text(f"{title}: done recorded.")
    expect(page.locator(f"#{acted_id}")).to_have_count(0)
    focused = settled_focus(page)
    assert focused["item"] == following and focused["tag"] == "summary", focused
    assert focused["text"].startswith("Actions for ")
    assert page.evaluate("() => document.getElementById('caseload-status') === window.liveRegion")
    assert status.get_attribute("role") == "status"

    # A refused action: focus on the error beside its task, the live region says why.
    task = page.locator(f"#{following}")
    page.keyboard.press("Enter")
    expect(task.locator(".task-actions")).to_be_visible()
    tab_to(page, "el.tagName === 'SUMMARY' && el.textContent.startsWith('Mark done')")
    page.keyboard.press("Enter")
    focused = tab_to(page, "el.tagName === 'INPUT' && el.type === 'datetime-local'")
    tomorrow = timezone.localdate() + dt.timedelta(days=2)
    task.locator("input[type=datetime-local]").fill(f"{tomorrow:%Y-%m-%d}T09:00")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.startsWith('Save: done')")
    page.keyboard.press("Enter")
    expect(status).to_contain_text("Not recorded: A task cannot be done in the future.")
    page.wait_for_function("() => document.activeElement && document.activeElement.textContent"
                           ".trim() === 'A task cannot be done in the future.'")
    focused = page.evaluate(ACTIVE)
    assert focused["item"] == following and focused["text"] == (
        "A task cannot be done in the future."), focused
    assert page.evaluate("() => document.getElementById('caseload-status') === window.liveRegion")


def test_show_more_by_keyboard_goes_to_the_first_new_patient(page, live_server, login, centre,
                                                            oncologist, navigator):
    """'Show more' replaces itself with the next patients: focus goes to the first of them."""
    from coordinators.caseload import PAGE_PATIENTS
    from prrt.models import TreatmentCourse

    today = timezone.localdate()
    for i in range(PAGE_PATIENTS + 2):
        patient = PatientFactory(centre=centre, referring_oncologist=oncologist,
                                 family_name=f"Moore{i:02d}")
        referral = ReferralFactory(patient=patient, state=ReferralState.IN_TREATMENT)
        course = TreatmentCourse.objects.create(
            patient=patient, referral=referral, centre=centre, state="active",
            planned_first_dose=today - dt.timedelta(days=60))
        CareTask.objects.create(course=course, patient=patient, kind=TaskKind.PRE_DOSE_LABS,
                                cycle=2, sequence=1, owner_party=OwnerParty.CENTRE,
                                earliest=today, due=today, latest=today + dt.timedelta(days=1))
    login("navigator")
    groups = page.locator("section.patient-group")
    expect(groups).to_have_count(PAGE_PATIENTS)
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Show more'", limit=200)
    page.keyboard.press("Enter")
    expect(groups).to_have_count(PAGE_PATIENTS + 2)
    first_new = groups.nth(PAGE_PATIENTS).locator("h2 a")
    expect(first_new).to_be_focused()
