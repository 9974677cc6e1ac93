"""Retrieval quality of knowledge search on a small hand-written set, per mode and per backend.

Fourteen short documents on unrelated topics (Markdown with headings, plain text, two code files)
go through the real pipeline (extract, token-aware chunking, all-MiniLM-L6-v2 into Qdrant, the
keyword index in SQL). Each question names its answer passage by document and a phrase that occurs
in exactly one indexed chunk. For dense, keyword and hybrid we report recall@5 (the answer chunk is
among the first five hits) and MRR@10 (1/rank of the answer chunk, 0 beyond ten).

Question styles: ``paraphrase`` shares (almost) no words with its answer and is meant for dense,
``identifier`` asks for an exact code, function or product name and is meant for keyword,
``ordinary`` is what a person would type. The questions were written before any run and are not
tuned to make a mode win (one was replaced before any figure was seen: its answer lay in the
overlap of two chunks). Hybrid search was changed after its figures here were seen: plain RRF lost
to dense when the keyword retriever missed the answer and its any-word hits outvoted dense's best
one, so hybrid now fuses only keyword hits that match half of the query's words. Every share from
a third to three quarters passes on both backends (see HYBRID_MIN_WORD_SHARE), so the test does
not hang on one tuned value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID

import pytest

from cortex.bootstrap import Cortex
from cortex.search.service import SearchQuery
from projections.chunk_queries import ChunkFilter
from tests.conftest import catch_up
from tests.integration.search_support import cortex_on, indexed_chunks, ingest, new_project

MODES = ("dense", "keyword", "hybrid")
LIMIT = 10
RECALL_AT = 5

DOCUMENTS: dict[str, str] = {
    "sourdough.md": """# Sourdough at home

## Keeping a starter

A starter is a living culture of wild yeast and lactic acid bacteria. Feed it equal weights of
flour and water once a day and keep it in a loosely covered jar on the counter. When it doubles
within six hours of a feeding it is strong enough to raise a loaf; a sluggish starter gives a
dense, sour crumb.

## Bulk fermentation

After mixing, the dough rests at room temperature for four to six hours. Every half hour during
the first two hours, perform a set of stretch and folds: lift one side of the dough and fold it
over the rest, then turn the bowl a quarter turn. The dough is ready for shaping when it has grown
by about half and shows bubbles along the sides of the container.

## Baking

Preheat a cast iron Dutch oven to 250 °C for forty-five minutes. Bake the loaf with the lid on
for twenty minutes so the trapped steam keeps the crust soft while the bread expands, then remove
the lid and bake another twenty-five minutes until the crust is deep brown. Let the bread cool for
an hour before slicing, or the crumb will be gummy.
""",
    "honeybees.txt": """Honeybee colonies are families of tens of thousands of sterile female
workers, a single egg-laying queen and, in summer, a few hundred drones.

A forager that has found a rich patch of flowers returns to the hive and performs the waggle dance
on the vertical comb. The angle of the straight run relative to vertical encodes the direction of
the food relative to the sun, and the duration of the waggle encodes distance: roughly one second
of waggling for every kilometre of flight.

In late spring a crowded colony raises new queens, and the old queen leaves with about half of the
workers to found a new nest. The swarm hangs in a cluster on a branch while scout bees inspect
hollow trees and cavities; they reach a decision by a kind of vote, dancing for their preferred
site until one site dominates.

Bees do not hibernate. Through the winter they form a tight ball and shiver their flight muscles
to keep the centre near 35 °C, eating stored honey for fuel.
""",
    "payments-gateway-runbook.md": """# payments-gateway runbook

## Alerts

### ERR-PGW-4471

The card vault rejected a token because it expired. Tokens live for fifteen minutes; a client
that holds a checkout page open longer gets this error. No action is needed unless the rate
exceeds 2% of requests, in which case check that the checkout frontend refreshes tokens.

### ERR-PGW-5002

The acquirer did not answer within the 8 second timeout. Check the status page of the acquiring
bank and switch traffic to the secondary acquirer with `pgwctl route --acquirer=secondary`.
Switch back once the primary has been healthy for thirty minutes.

### ERR-PGW-5310

Settlement file upload to the SFTP drop failed. The nightly job retries three times at ten
minute intervals; after that, page the finance on-call engineer, who can upload the file by hand.

## Deploys

Deploys happen from the release branch only, never on Fridays after noon. Send 5% of traffic to
the canary for twenty minutes and watch the authorisation success rate before the full rollout.
""",
    "invoice_parser.py": '''"""Parsing supplier invoices exported as semicolon separated lines."""

from decimal import ROUND_HALF_UP, Decimal

VAT_RATES = {"S": Decimal("0.20"), "R": Decimal("0.05"), "Z": Decimal("0")}


class InvoiceLineError(ValueError):
    """A line that cannot be read; carries the line number."""


def parse_invoice_line(line: str, number: int) -> dict:
    """Split one line into sku, quantity, unit price and VAT code; amounts are Decimal."""
    fields = line.rstrip("\\n").split(";")
    if len(fields) != 4:
        raise InvoiceLineError(f"line {number}: expected 4 fields, got {len(fields)}")
    sku, quantity, unit_price, vat_code = fields
    return {
        "sku": sku.strip(),
        "quantity": int(quantity),
        "unit_price": Decimal(unit_price),
        "vat": VAT_RATES[vat_code],
    }


def invoice_total(lines: list[dict]) -> Decimal:
    """Sum of quantity times unit price plus VAT, rounded half up to the cent."""
    total = sum(line["quantity"] * line["unit_price"] * (1 + line["vat"]) for line in lines)
    return Decimal(total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class TaxBracketResolver:
    """Chooses the withholding bracket for a contractor from their yearly earnings so far."""

    BRACKETS = [(12570, Decimal("0")), (50270, Decimal("0.20")), (125140, Decimal("0.40"))]

    def resolve(self, earned: Decimal) -> Decimal:
        for ceiling, rate in self.BRACKETS:
            if earned <= ceiling:
                return rate
        return Decimal("0.45")
''',
    "rate_limiter.js": """// Sliding window rate limiting for the public API gateway.

const WINDOW_MS = 60_000;
const MAX_REQUESTS = 120;

/**
 * slidingWindowAllow decides whether a client may make another request.
 * It keeps the timestamps of the client's recent requests, drops the ones older
 * than the window, and refuses once MAX_REQUESTS remain inside it.
 */
export function slidingWindowAllow(history, now = Date.now()) {
  while (history.length && history[0] <= now - WINDOW_MS) history.shift();
  if (history.length >= MAX_REQUESTS) return false;
  history.push(now);
  return true;
}

/** retryAfterSeconds tells a refused client when its oldest request leaves the window. */
export function retryAfterSeconds(history, now = Date.now()) {
  if (!history.length) return 0;
  return Math.ceil((history[0] + WINDOW_MS - now) / 1000);
}
""",
    "pinatubo.txt": """The 1991 eruption of Mount Pinatubo in the Philippines was the second-largest
volcanic eruption of the twentieth century. After weeks of steam explosions, the climactic
eruption on 15 June ejected about ten cubic kilometres of magma. Typhoon Yunya struck the island
the same day, and rain mixed with falling ash into a heavy wet cement that collapsed roofs across
the region.

The eruption injected roughly fifteen million tonnes of sulfur dioxide into the stratosphere. The
resulting aerosol haze spread around the globe and lowered average temperatures in the Northern
Hemisphere by about half a degree Celsius over the following year.

Evacuations ordered by the national institute of volcanology and seismology, guided by tiltmeters
and seismographs, are credited with saving thousands of lives. Lahars, mudflows of volcanic debris
remobilised by monsoon rains, continued to bury towns for years afterwards.
""",
    "tea.md": """# From leaf to cup

## Withering and rolling

Freshly plucked leaves are spread on racks to wither for twelve to eighteen hours, losing about a
third of their moisture so they become supple. Rolling then bruises the leaves and breaks their
cell walls, releasing the juices that react with air.

## Oxidation

Green tea is heated soon after plucking, pan-fired in China or steamed in Japan, which stops the
enzymes and keeps the leaf green. Black tea is left to oxidise fully, turning coppery and
developing malty flavours; oolong sits in between, partially oxidised.

## Brewing

Brew green tea with water well below boiling, around 75 °C, for two minutes; boiling water scalds
the leaves and makes the cup bitter. Black tea takes freshly boiled water and three to five
minutes.
""",
    "marathon-plan.md": """# Sixteen week marathon plan

## Base building

The first six weeks build aerobic base: four runs a week, almost all at an easy conversational
pace, with the long run growing by about a kilometre and a half each week.

## Long runs and workouts

From week seven, one weekly session is a tempo run of twenty to forty minutes at the pace you
could hold for an hour. The long run peaks at thirty-two kilometres three weeks before race day.

## Taper

The last three weeks reduce volume by roughly a quarter each week while keeping some short fast
efforts, so the legs arrive fresh without losing sharpness. In the final three days, eat about
eight to ten grams of carbohydrate per kilogram of body weight to top up muscle glycogen.
""",
    "aerolite-x9-product-sheet.txt": """Aerolite X9 hiking backpack: product sheet

Model code AX9-220. The Aerolite X9 is a 38 litre pack weighing 1.1 kg, with an aluminium stay
frame and a ventilated mesh back panel. Colour variants: forest green (SKU AX9-220-GRN), slate
grey (SKU AX9-220-GRY) and ember orange (SKU AX9-220-ORG).

Warranty: the frame and seams carry a lifetime warranty against manufacturing defects; buckles
and zips are covered for two years. Warranty claims need the order number and a photo of the
defect.

Care: hand wash with mild soap; never machine wash or tumble dry, which delaminates the
waterproof coating. Store it loose, not compressed.
""",
    "sicilian-defence.md": """# Notes on the Sicilian Defence

The Sicilian begins 1.e4 c5. Black fights for the centre from the side, accepting a slightly
passive position in exchange for an imbalanced game with chances for both players.

## Najdorf Variation

After 1.e4 c5 2.Nf3 d6 3.d4 cxd4 4.Nxd4 Nf6 5.Nc3 a6, the quiet move a6 keeps White's knights
and bishops off the b5 square and prepares an expansion with b5 or e5. It was Bobby Fischer's and
Garry Kasparov's favourite weapon.

## Dragon Variation

With g6 and Bg7 Black fianchettoes the bishop on the long diagonal, where it bears down on the
centre and the queenside. White usually answers with the Yugoslav Attack: castling queenside and
storming the kingside with the h-pawn.
""",
    "travel-expense-policy.txt": """Travel and expense policy (FIN-POL-017)

Employees travelling on company business book flights and hotels through the travel portal.
Economy class is the default; business class is allowed for flights longer than six hours.

Meals are reimbursed against a daily allowance of 45 euros at home and 70 euros abroad. Alcohol
is not reimbursed.

Claims must be filed within thirty days of returning, with itemised receipts for every expense
above 25 euros. Claims above 2,000 euros need the approval of a department director.
""",
    "bell-rock-lighthouse.txt": """The Bell Rock Lighthouse, off the coast of Angus in Scotland, is
the world's oldest surviving sea-washed lighthouse. It was built between 1807 and 1810 by Robert
Stevenson on a reef that lies under the water except at low tide, so masons could work only a few
hours a day in the summer months.

The tower is made of granite and sandstone blocks dovetailed together, a technique borrowed from
John Smeaton's Eddystone lighthouse, so that the whole structure resists the waves as one mass.

Its light was first produced by Argand oil lamps with silvered parabolic reflectors, rotated by
clockwork to give a red and white flash. The keepers were withdrawn when the light was automated
in 1988.
""",
    "sso-troubleshooting.md": """# Single sign-on troubleshooting

## AUTH-0x7F3: assertion not yet valid

The identity provider's SAML assertion carries a NotBefore time later than our server clock. This
is almost always clock skew: make sure both sides synchronise with NTP. We tolerate up to 90
seconds of drift.

## AUTH-0x7F9: audience mismatch

The assertion was issued for a different service provider entity ID. Copy the entity ID from the
metadata page exactly, including the trailing slash.

## Users are signed out every few minutes

The session cookie is dropped by the browser because it lacks the SameSite=None and Secure
attributes while the app is embedded in an iframe on another domain.
""",
    "succulent-care.txt": """Succulents store water in their thick leaves and stems, so the most
common way to kill one is overwatering. Water deeply only when the soil has dried out completely:
in summer that may be every two weeks, in winter once a month or less. Soggy soil starves the
roots of oxygen and lets fungi cause root rot, which shows as black, mushy stems.

Use a gritty mix of about half potting soil and half pumice or coarse sand, in a pot with a
drainage hole. Terracotta helps because it wicks moisture out of the soil.

Most succulents want at least six hours of bright light a day. A plant that stretches, with wide
gaps between its leaves, is reaching for more light; this is called etiolation and cannot be
reversed, though the top can be cut and rooted again.
""",
}


@dataclass(frozen=True)
class Question:
    text: str
    document: str
    answer: str  # a phrase found in exactly one indexed chunk, the answer passage
    style: str  # paraphrase | identifier | ordinary


QUESTIONS = [
    # Sourdough
    Question(
        "When is my leaven mature enough to use?",
        "sourdough.md",
        "doubles within six hours of a feeding",
        "paraphrase",
    ),
    Question(
        "How long should bread cool before cutting it?",
        "sourdough.md",
        "an hour before slicing",
        "ordinary",
    ),
    Question(
        "How often do I stretch and fold the dough during bulk fermentation?",
        "sourdough.md",
        "perform a set of stretch and folds",
        "ordinary",
    ),
    # Honeybees
    Question(
        "How do insects tell their nestmates where nectar can be found?",
        "honeybees.txt",
        "performs the waggle dance",
        "paraphrase",
    ),
    Question(
        "How does the colony survive the cold months?",
        "honeybees.txt",
        "shiver their flight muscles",
        "paraphrase",
    ),
    Question(
        "Why does a colony split in two in the spring?",
        "honeybees.txt",
        "the old queen leaves with about half",
        "ordinary",
    ),
    # Runbook
    Question(
        "ERR-PGW-5002",
        "payments-gateway-runbook.md",
        "switch traffic to the secondary acquirer",
        "identifier",
    ),
    Question(
        "what does ERR-PGW-5310 mean",
        "payments-gateway-runbook.md",
        "Settlement file upload to the SFTP drop failed",
        "identifier",
    ),
    Question(
        "Can we ship a release on Friday afternoon?",
        "payments-gateway-runbook.md",
        "never on Fridays after noon",
        "ordinary",
    ),
    # Code
    Question(
        "parse_invoice_line",
        "invoice_parser.py",
        "expected 4 fields",
        "identifier",
    ),
    Question(
        "TaxBracketResolver",
        "invoice_parser.py",
        "withholding bracket",
        "identifier",
    ),
    Question(
        "slidingWindowAllow",
        "rate_limiter.js",
        "refuses once MAX_REQUESTS remain inside it",
        "identifier",
    ),
    Question(
        "How long must a throttled caller wait before trying again?",
        "rate_limiter.js",
        "oldest request leaves the window",
        "paraphrase",
    ),
    # Pinatubo
    Question(
        "Why did summers get cooler around the world after the Philippine blast?",
        "pinatubo.txt",
        "lowered average temperatures",
        "paraphrase",
    ),
    Question(
        "What are lahars?",
        "pinatubo.txt",
        "mudflows of volcanic debris",
        "ordinary",
    ),
    Question(
        "Which typhoon hit during the Pinatubo eruption?",
        "pinatubo.txt",
        "Typhoon Yunya",
        "ordinary",
    ),
    # Tea
    Question(
        "What makes a cup taste harsh when the kettle has only just clicked off?",
        "tea.md",
        "boiling water scalds",
        "paraphrase",
    ),
    Question(
        "How is green tea processing different from black tea?",
        "tea.md",
        "enzymes and keeps the leaf green",
        "ordinary",
    ),
    Question(
        "Why are freshly picked leaves left out to dry for a while?",
        "tea.md",
        "third of their moisture",
        "paraphrase",
    ),
    # Marathon
    Question(
        "How far should the longest training run be?",
        "marathon-plan.md",
        "peaks at thirty-two kilometres",
        "ordinary",
    ),
    Question(
        "What should I eat in the days before the race?",
        "marathon-plan.md",
        "grams of carbohydrate per kilogram",
        "ordinary",
    ),
    Question(
        "Should I cut back on mileage near the big day?",
        "marathon-plan.md",
        "reduce volume by roughly a quarter",
        "paraphrase",
    ),
    # Product sheet
    Question(
        "AX9-220-ORG",
        "aerolite-x9-product-sheet.txt",
        "ember orange (SKU AX9-220-ORG)",
        "identifier",
    ),
    Question(
        "Can I put the Aerolite backpack in the washing machine?",
        "aerolite-x9-product-sheet.txt",
        "never machine wash",
        "ordinary",
    ),
    # Chess
    Question(
        "Which world champions favoured the Najdorf?",
        "sicilian-defence.md",
        "Garry Kasparov's favourite weapon",
        "ordinary",
    ),
    Question(
        "Yugoslav Attack",
        "sicilian-defence.md",
        "storming the kingside",
        "identifier",
    ),
    # Travel policy
    Question(
        "How much can I spend on food per day when working overseas?",
        "travel-expense-policy.txt",
        "70 euros abroad",
        "paraphrase",
    ),
    Question(
        "FIN-POL-017 deadline for expense claims",
        "travel-expense-policy.txt",
        "within thirty days of returning",
        "identifier",
    ),
    Question(
        "Can I fly business class on a long trip?",
        "travel-expense-policy.txt",
        "business class is allowed for flights longer than six hours",
        "ordinary",
    ),
    # Lighthouse
    Question(
        "How did the builders make the stone tower stand up to the pounding sea?",
        "bell-rock-lighthouse.txt",
        "dovetailed together",
        "paraphrase",
    ),
    Question(
        "When was the Bell Rock light automated?",
        "bell-rock-lighthouse.txt",
        "in 1988",
        "ordinary",
    ),
    Question(
        "Why could the workers only build for short stretches each day?",
        "bell-rock-lighthouse.txt",
        "under the water except at low tide",
        "paraphrase",
    ),
    # SSO
    Question(
        "AUTH-0x7F3",
        "sso-troubleshooting.md",
        "almost always clock skew",
        "identifier",
    ),
    Question(
        "AUTH-0x7F9 error",
        "sso-troubleshooting.md",
        "different service provider entity ID",
        "identifier",
    ),
    Question(
        "Why do people keep getting kicked out when our product is shown inside another website?",
        "sso-troubleshooting.md",
        "SameSite=None and Secure",
        "paraphrase",
    ),
    # Succulents
    Question(
        "My fleshy houseplant has gone leggy and pale, what is happening?",
        "succulent-care.txt",
        "called etiolation",
        "paraphrase",
    ),
    Question(
        "Why did the base of my jade plant turn dark and squishy?",
        "succulent-care.txt",
        "black, mushy stems",
        "paraphrase",
    ),
    Question(
        "How often should I water succulents in winter?",
        "succulent-care.txt",
        "in winter once a month or less",
        "ordinary",
    ),
]


@dataclass
class Scores:
    ranks: list[int | None]  # rank of the answer chunk per question, None when not in the top LIMIT

    @property
    def recall(self) -> float:
        return sum(rank is not None and rank <= RECALL_AT for rank in self.ranks) / len(self.ranks)

    @property
    def mrr(self) -> float:
        return sum(1 / rank for rank in self.ranks if rank is not None) / len(self.ranks)

    def of_style(self, style: str) -> Scores:
        return Scores([r for q, r in zip(QUESTIONS, self.ranks, strict=True) if q.style == style])


@dataclass
class Evaluation:
    backend: str
    chunks: int
    holders: list[list[tuple[str, str]]]  # per question: (document, chunk id) holding its phrase
    scores: dict[str, Scores] = field(default_factory=dict)

    def report(self) -> str:
        lines = [
            f"retrieval quality on {self.backend}: {len(DOCUMENTS)} documents, {self.chunks}"
            f" chunks, {len(QUESTIONS)} questions (recall@{RECALL_AT}, MRR@{LIMIT})"
        ]
        styles = sorted({question.style for question in QUESTIONS})
        for mode in MODES:
            scores = self.scores[mode]
            by_style = ", ".join(
                f"{style} r@{RECALL_AT}={scores.of_style(style).recall:.2f}"
                f" mrr={scores.of_style(style).mrr:.2f}"
                for style in styles
            )
            lines.append(
                f"  {mode:8} recall@{RECALL_AT}={scores.recall:.3f} MRR={scores.mrr:.3f}"
                f"  ({by_style})"
            )
        lines.append(
            f"  rank of the answer (dense / keyword / hybrid; - = not in the top {LIMIT}):"
        )
        for index, question in enumerate(QUESTIONS):
            ranks = " / ".join(_show(self.scores[mode].ranks[index]) for mode in MODES)
            lines.append(f"    [{question.style[:5]}] {ranks:>10}  {question.text}")
        return "\n".join(lines)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def evaluation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Evaluation]:
    """The set ingested once per backend, every question asked in every mode."""
    folder = tmp_path_factory.mktemp("quality")
    # On the CPU wherever it runs, so that the figures do not move with the machine's GPU.
    with cortex_on(request.param, request, folder, CORTEX_EMBEDDING_DEVICE="cpu") as cortex:
        project = new_project(cortex, "Quality")
        documents = {name: ingest(cortex, project, name, text) for name, text in DOCUMENTS.items()}
        catch_up(cortex)
        texts = {
            str(chunk["id"]): (name, _flat(str(chunk["text"])))
            for name, document_id in documents.items()
            for chunk in indexed_chunks(cortex, document_id)
        }
        holders = [
            [(name, cid) for cid, (name, text) in texts.items() if _flat(question.answer) in text]
            for question in QUESTIONS
        ]
        result = Evaluation(cortex.read_store.dialect, len(texts), holders)
        for mode in MODES:
            result.scores[mode] = Scores(
                [
                    _rank(cortex, question, mode, found[0][1] if found else "", project)
                    for question, found in zip(QUESTIONS, holders, strict=True)
                ]
            )
        print("\n" + result.report())
        yield result


def _rank(cortex: Cortex, question: Question, mode: str, answer: str, project: UUID) -> int | None:
    where = ChunkFilter(project_ids=[str(project)])
    result = cortex.search.search(SearchQuery(question.text, mode, LIMIT, where))  # type: ignore[arg-type]
    assert not result.unavailable, result.unavailable
    ids = [hit.chunk_id for hit in result.hits]
    return ids.index(answer) + 1 if answer in ids else None


def test_the_set_is_what_it_claims(evaluation: Evaluation) -> None:
    """At least 12 documents and 24 questions; each answer phrase in exactly one indexed chunk,
    of the question's document."""
    assert len(DOCUMENTS) >= 12
    assert len(QUESTIONS) >= 24
    assert {q.style for q in QUESTIONS} == {"paraphrase", "identifier", "ordinary"}
    for question, found in zip(QUESTIONS, evaluation.holders, strict=True):
        assert [name for name, _ in found] == [question.document], (question, found)


def test_every_mode_finds_at_least_half_of_the_answers(evaluation: Evaluation) -> None:
    print("\n" + evaluation.report())  # shown by -s, and with the captured output by -rA
    for mode in MODES:
        recall = evaluation.scores[mode].recall
        assert recall >= 0.5, f"{mode} recall@{RECALL_AT} {recall:.3f}\n{evaluation.report()}"


def test_hybrid_is_not_worse_than_the_best_single_mode(evaluation: Evaluation) -> None:
    print("\n" + evaluation.report())
    scores = evaluation.scores
    best_recall = max(scores["dense"].recall, scores["keyword"].recall)
    best_mrr = max(scores["dense"].mrr, scores["keyword"].mrr)
    assert scores["hybrid"].recall >= best_recall, evaluation.report()
    assert scores["hybrid"].mrr >= best_mrr, evaluation.report()


def _flat(text: str) -> str:
    """Whitespace runs as one space (the documents are wrapped at 100 columns)."""
    return " ".join(text.split())


def _show(rank: int | None) -> str:
    return "-" if rank is None else str(rank)
