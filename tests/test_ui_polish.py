"""Polish of the UI issue: our /docs page (every route with a request and a response example,
descriptions rendered as CommonMark, not shown with their backticks), Gradio's "Use via API"
page no longer advertised, and one complete font (the system stack) for every text.

The API tests use the fake LLM and one app built for the module; the font test drives
Debian's Chromium with the browser plumbing of tests/test_ui_browser.py."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from app.adapters.api import examples
from app.adapters.api.docs import markdown
from app.adapters.server import create_app
from app.services.ingest import ingest
from app.testing.fakes import FakeChatModel, HashingEmbedder
from app.wiring import build_services
from tests.conftest import make_settings, write_article
from tests.test_ui_browser import Tab, browser, fake_app  # noqa: F401 (fixtures)

ROUTES = {
    ("post", "/api/ask"), ("post", "/api/ask/stream"), ("post", "/api/claims"), ("get", "/api/articles"),
    ("get", "/api/articles/{doc_id}"), ("get", "/api/health"), ("post", "/api/ingest"), ("post", "/api/ingest/files"),
    ("get", "/v1/models"), ("get", "/v1/models/{model_id}"), ("post", "/v1/chat/completions"),
}  # fmt: skip
# Keys whose contents an example trims on purpose (the model's features, the stage timings,
# the backend-specific model status).
TRIMMED = {"features", "timings", "model"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The app with the fake LLM over the examples' own article, as seen from this machine."""
    root = tmp_path_factory.mktemp("polish")
    settings = make_settings(root)
    rel = examples.DOC_ID + ".md"
    write_article(settings.corpus_dir, rel, examples.TITLE, examples.ARTICLE_TEXT, "Example Gazette", "2025-03-14")
    ingest(settings, settings.corpus_dir, progress=False)
    services = build_services(settings, llm=FakeChatModel(), embedder=HashingEmbedder())
    with TestClient(create_app(services), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as c:
        yield c


@pytest.fixture(scope="module")
def openapi(client) -> dict:
    return client.get("/openapi.json").json()


def operations(openapi: dict):
    for path, methods in openapi["paths"].items():
        for method, op in methods.items():
            yield method, path, op


def has_example(openapi: dict, item: dict) -> bool:
    """A media type or parameter object with an example of its own or in its schema."""
    if "example" in item or item.get("examples"):
        return True
    schema = item.get("schema", {})
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return bool(schema.get("examples"))


def first_example(item: dict):
    if "example" in item:
        return item["example"]
    return next(iter(item["examples"].values()))["value"]


def assert_same_keys(example, real, where: str = "") -> None:
    """The example has the keys of the real response, at every level both have content."""
    if isinstance(example, dict) and isinstance(real, dict):
        assert set(example) == set(real), f"{where or 'top'}: example {sorted(example)} != real {sorted(real)}"
        for key in example.keys() - TRIMMED:
            assert_same_keys(example[key], real[key], f"{where}.{key}")
    elif isinstance(example, list) and isinstance(real, list) and example and real:
        assert_same_keys(example[0], real[0], where + "[0]")


# --- /openapi.json and /docs ----------------------------------------------------------------


def test_every_route_has_a_request_and_a_response_example(openapi):
    assert {(m, p) for m, p, _ in operations(openapi)} >= ROUTES
    for method, path, op in operations(openapi):
        for param in op.get("parameters", []):
            assert has_example(openapi, param), f"{method} {path}: parameter {param['name']} has no example"
        for media, item in op.get("requestBody", {}).get("content", {}).items():
            assert has_example(openapi, item), f"{method} {path}: the {media} body has no example"
        if method == "post":
            assert op.get("requestBody"), f"{method} {path}: the request body is not documented"
        ok = {m: i for status, r in op["responses"].items() if status.startswith("2") for m, i in r["content"].items()}
        assert ok and all(has_example(openapi, i) for i in ok.values()), f"{method} {path}: no response example"


def test_examples_are_invented_and_have_the_shape_of_real_responses(client, openapi):
    """Each route's documented request, sent to the app, answers with the keys of its documented
    response (nulls included: FastAPI would drop them from the examples)."""
    text = json.dumps(openapi)
    assert "Example Gazette" in text and "Wire A" not in text

    def documented(method: str, path: str, media: str = "application/json"):
        return first_example(openapi["paths"][path][method]["responses"]["200"]["content"][media])

    chat = openapi["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    calls = {
        ("post", "/api/ask"): {"json": examples.ASK_REQUESTS[0]},
        ("post", "/api/claims"): {"json": examples.CLAIM_REQUESTS[0]},
        ("get", "/api/articles"): {"params": {"outlet": "Example Gazette", "date_from": "2025-03-01"}},
        ("get", "/api/articles/{doc_id}"): {},
        ("get", "/api/health"): {},
        ("get", "/v1/models"): {},
        ("get", "/v1/models/{model_id}"): {},
        ("post", "/v1/chat/completions"): {"json": chat["question"]["value"]},
        ("post", "/api/ingest/files"): {"content": examples.UPLOAD_BODY.encode(),
                                        "headers": {"Content-Type": "multipart/form-data; boundary=newsrag"}},
    }  # fmt: skip
    for (method, path), request in calls.items():
        url = path.format(doc_id=examples.DOC_ID, model_id="newsrag")
        got = client.request(method, url, **request)
        assert got.status_code == 200, f"{method} {url}: {got.text[:300]}"
        assert_same_keys(documented(method, path), got.json(), f"{method} {path}")
    assert documented("post", "/api/ask")["citations"][0]["url"] is None
    # the streams end as their examples do: the final NDJSON event, OpenAI's last chunk and [DONE]
    lines = client.post("/api/ask/stream", json=examples.ASK_REQUESTS[1]).text.splitlines()
    example = documented("post", "/api/ask/stream", "application/x-ndjson").splitlines()
    assert_same_keys(json.loads(example[-1]), json.loads(lines[-1]))
    sse = client.post("/v1/chat/completions", json=chat["follow_up"]["value"]).text.split("\n\n")
    example = documented("post", "/v1/chat/completions", "text/event-stream").split("\n\n")
    assert sse[-2] == example[-2] == "data: [DONE]"
    assert_same_keys(json.loads(example[-3].removeprefix("data: ")), json.loads(sse[-3].removeprefix("data: ")))


def test_markdown_renders_code_spans_and_escapes_the_rest():
    assert markdown("Returns `answer` <b>and</b> `` `tick` ``.") == (
        "<p>Returns <code>answer</code> &lt;b&gt;and&lt;/b&gt; <code>`tick`</code>.</p>"
    )
    assert markdown('One `{"event": "stage"}`.\n\nTwo.') == (
        "<p>One <code>{&quot;event&quot;: &quot;stage&quot;}</code>.</p><p>Two.</p>"
    )
    assert markdown("") == ""


def test_docs_page_shows_examples_and_no_literal_backticks(client, openapi):
    """A literal-backtick artefact: a ` left in the page's text outside <pre> and <code> (a
    CommonMark code span shown as raw text), or text escaped twice (&amp;quot; and the like)."""
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sections = re.findall(r'<section class="op">(.*?)</section>', page.text, re.S)
    assert len(sections) == len(list(operations(openapi)))
    for section in sections:
        assert "<h4>Example request</h4>" in section and "<h4>Example response: 200" in section, section[:200]
    text = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", page.text, flags=re.S)
    assert "`" not in text, text[max(0, text.find("`") - 80) : text.find("`") + 80]
    assert not re.search(r"&amp;(?:quot|lt|gt|amp|#x?[0-9a-f]+);", page.text)
    assert "<code>python -m app ask --json</code>" in page.text and "<code>Authorization: Bearer" in page.text
    assert "GET /api/articles?outlet=Example+Gazette&amp;date_from=2025-03-01" in page.text
    assert "http://" not in page.text and "https://" not in page.text, "no CDN: the docs work offline"


# --- Gradio's own API page ------------------------------------------------------------------


def test_gradio_does_not_advertise_its_api_page(client):
    """footer_links is what Gradio 6 reads for the "Use via API" link and for ?view=api."""
    config = client.get("/config").json()
    assert config["footer_links"] == []
    page = client.get("/")
    assert page.status_code == 200 and '"footer_links":[]' in page.text.replace(" ", "")
    assert "window.gradio_config" in page.text and "newsrag" in page.text


# --- one complete font ----------------------------------------------------------------------

FONTS_JS = """async () => {
  await document.fonts.ready;
  const family = (el) => getComputedStyle(el).fontFamily;
  const texty = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const bold = [...document.querySelectorAll('body *')].filter((el) => texty(el) && el.getClientRects().length
    && parseInt(getComputedStyle(el).fontWeight, 10) >= 600);
  return {
    bold: bold.map((el) => [el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 30), family(el)]),
    ask: family(document.querySelector('#nr-ask')),
    body: family(document.body),
    font: getComputedStyle(document.documentElement).getPropertyValue('--font'),
    faces: [...document.fonts].filter((f) => f.status !== 'unloaded').map((f) => f.family + ' ' + f.weight),
  };
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_no_text_uses_the_subset_font(browser, fake_app):  # noqa: F811
    url, _, _ = fake_app
    tab = Tab(browser, url)
    try:
        tab.ask("When was the harbour in Odesa repaired?")
        tab.wait_answer(1)
        tab.page.locator("#nr-sources .nr-head").first.wait_for()  # semibold source titles
        tab.page.locator("#nr-ask").wait_for()  # Ask is back once the answer unlocks the input (Stop until then)
        found = tab.page.evaluate(FONTS_JS)
    finally:
        tab.close()
    assert "system-ui" in found["font"]
    assert found["bold"] and any(el.startswith("A.nr-cite") for el, _ in found["bold"]), found["bold"]
    assert [el for el, family in found["bold"] if "Source Sans" in family] == []
    assert "Source Sans" not in found["ask"] and "system-ui" in found["ask"] and "system-ui" in found["body"]
    assert [f for f in found["faces"] if "Source Sans" in f] == [], found["faces"]
