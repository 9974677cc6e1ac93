"""The router's rule signals: cheap, explainable evidence from the prompt's wording and shape."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cortex.lanes.types import Lane

ASK_CHARS = 1500  # a prompt longer than this is read as an ask (head, tail) around material
HEAD_CHARS = 600
TAIL_CHARS = 300
MIN_PARAGRAPH = 40  # a blank line closes the ask only after a real sentence (not a title)
TAIL_FACTOR = 0.5  # the tail may be material rather than the ask: it counts half
SCAN_CHARS = 65536  # shape signals (code, traces) read this much: enough to tell, bounded cost
DEFAULT_PRIOR = 0.1  # the default lane wins when nothing else fires


@dataclass(frozen=True)
class Evidence:
    """One fired signal: the lane it supports, what it is, what matched, how much it counts."""

    lane: Lane
    label: str
    detail: str
    weight: float


@dataclass(frozen=True)
class Signal:
    lane: Lane
    label: str
    weight: float
    pattern: re.Pattern[str]


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# Wording signals, read in the ask only (material in the middle of a prompt is not the request).
CODE_SYNTAX = re.compile(
    r"`[^`\n]+`|\w+\(\)|\w+\.\w+\(|[=!<>]=|=>|::|&&|\|\||\b[a-z]+_[a-z0-9_]+\b"
    r"|\b[a-z]+[A-Z][a-zA-Z]+\b|</?[a-z]+>|\bSELECT\b.+\bFROM\b|\bINSERT INTO\b"
)
CODE_WORDS = _words(
    r"functions?|methods?|bugs?|debug\w*|refactor\w*|compil\w+|runtime|exceptions?|stack ?traces?"
    r"|unit tests?|test cases?|regex\w*|regular expressions?|code ?base|code(?! of conduct| freeze)"
    r"|source code|pull requests?|merge conflicts?|endpoints?|algorithms?|variables?|type hints?"
    r"|linters?|segfaults?|memory leaks?|race conditions?|deadlocks?|null pointers?|recursi\w+"
    r"|implement\w*|syntax|modules?|interfaces?|APIs?|quer(?:y|ies)|schemas?|callbacks?|async"
    r"|thread-?safe|concurrency|re-?render\w*|borrow checker|goroutines?|CLI|compilers?|crash\w*"
    r"|stdout|stderr|parse|parser|unit-?tested|programs?|errors?|git|commits?|branch(?:es)?|handlers?"
    r"|controllers?|ORM|frameworks?|loops?|booleans?|strings?|arrays?|decorators?|generics|mocks?"
    r"|dependency injection|design patterns?|docker\w*|CI|builds?|deploy\w*|database|SDK"
    r"|(?:schema|database) migrations?|npm|pip|imports?|if-?else|null|logic|coupl\w+|decoupl\w+"
)
LANGUAGES = _words(
    r"python|javascript|typescript|java|rust|golang|C\+\+|C#|kotlin|swift|ruby|php|scala|haskell"
    r"|SQL|bash|shell|powershell|react|vue|angular|django|flask|fastapi|node(?:\.js)?|pandas|numpy"
    r"|css|html|go (?:code|program|service|handler|function)|in go|dockerfile|yaml|json|webpack"
    r"|gradle|maven|pytest"
)
REGULATIONS = _words(
    r"GDPR|CCPA|CPRA|HIPAA|SOX|Sarbanes|SOC ?2|ISO ?\d{4,5}|PCI[- ]?DSS|AI Act|DORA|NIS ?2|FERPA"
    r"|COPPA|PIPEDA|LGPD|DMCA|WCAG|AML|KYC|Article \d+|ePrivacy|FCA|FTC"
)
COMPLIANCE_WORDS = _words(
    r"complian\w*|compliant|comply\w*|regulat\w*|legal\w*|lawful\w*|unlawful\w*|laws?|statut\w+"
    r"|audit\w*|violat\w+|breach\w*|infring\w*|permitted|permissible|prohibit\w*|consent"
    r"|liabilit\w+|obligations?|polic(?:y|ies)|governance|ethic\w*|certification|due diligence"
    r"|sanctions?|export controls?|whistleblow\w*|discriminat\w*|disclos\w+|risk assessments?"
    r"|(?:access|security|internal) controls?|terms of (?:service|use)"
)
LICENSING = _words(
    r"licen[cs]\w*|GPL|AGPL|LGPL|copyleft|attribution|copyright\w*|trademarks?|patents?|fair use"
)
PERSONAL_DATA = _words(
    r"PII|personal(?:ly)? (?:data|information|identifiable)|sensitive data|special category"
    r"|health data|biometric\w*|anonymi[sz]\w*|pseudonymi[sz]\w*|redact\w*|data protection|privacy"
    r"|data subjects?|right to be forgotten|erasure|data retention|retention period|DPA|DPIA"
    r"|sub-?processors?|cross-border|data transfers?"
)
PERMISSION = _words(
    r"(?:are|is) (?:we|it|this|that) (?:allowed|permitted|legal|lawful|required)"
    r"|can we (?:legally|lawfully)|(?:do|must) we (?:need|have) to (?:report|notify|disclose)"
    r"|are we required"
)
OUR_KNOWLEDGE = _words(
    r"(?:our|my|the team'?s?|the project'?s?|we|uploaded|internal|per the)(?:\W+\w+){0,4}?\W+"
    r"(?:docs?|documents?|documentation|notes?|wiki|knowledge ?base|meetings?"
    r"|(?<!\d )minutes|specs?|specification|design docs?|ADRs?|retros?|retrospectives?"
    r"|decision logs?|runbooks?|records?"
    r"|tickets?|requirements|files?|pages?|post-?mortems?|interviews?|sessions?|discussions?"
    r"|conversations?|emails?|slides|deck|write-?ups?|reports?|guides?|handbooks?|playbooks?"
    r"|reviews?|evaluations?|proposals?|plans? doc|faqs?|intranet|drive|confluence|notion)"
)
RECALL = _words(
    r"(?:did|have|had) (?:we|the team|they)(?:\W+\w+){0,3}?\W+(?:decid|agree|conclud|chose|choose"
    r"|pick|say|said|writ|wrote|noted?|record|discuss|mention|settl|commit|promis|plann?ed|document"
    r"|drop|reject)\w*"
    r"|(?:we|the team|they) (?:decided|agreed|concluded|chose|settled|discussed|wrote|noted"
    r"|recorded|documented|dropped|rejected|mentioned)"
)
LOOKUP = _words(
    r"look up|search (?:for|our|the)|locate|retrieve|pull up|dig up|where (?:is|are|can I find)"
    r"|is there (?:a|any) (?:page|doc|note|record)|do we have (?:any|a)|according to|as recorded"
    r"|based on (?:our|the)|who owns|who is (?:the )?(?:owner|responsible)"
    r"|(?:find|show me|pull up) (?:the|our|any|me the) (?:\S+ ){0,3}?(?:notes?|docs?|documents?"
    r"|minutes|records?|pages?|files?|spec|write-?ups?)"
    r"|what (?:does|do|did) (?:our|the) (?:\w+ ){0,3}(?:say|said|state|mention|recommend)"
)
WHOLE_MATERIAL = _words(
    r"(?:entire|whole|full|complete|all (?:of )?(?:the|these|this|our))(?:\W+\w+){0,4}?\W+"
    r"(?:text|transcripts?|book|novel|manuscript|reports?|documents?|thread|logs?|archive|history"
    r"|manual|handbook|thesis|dissertation|paper|contracts?|agreement|filing|export|season|series"
    r"|minutes|dump|corpus|study|hearing|deposition|codebase|chapters?|versions?|proceedings"
    r"|correspondence|record|collection|draft|specification|email)s?"
    r"|(?:section|chapter|clause|page|line|episode|article|paragraph)[- ]by[- ]"
    r"(?:section|chapter|clause|page|line|episode|article|paragraph)"
    r"|cover to cover|from (?:the )?beginning to (?:the )?end|one after another"
)
LONG_MATERIAL = _words(
    r"transcripts?|novel|manuscript|(?:the|this|a|whole|entire) book|thesis|dissertation"
    r"|depositions?|hearings?|\d+[- ]pages?|chapters?|appendix|appendices|corpus|proceedings"
    r"|annual report|episodes?"
)
PASTED_DIGEST = re.compile(
    r"\b(?:below|following|attached|pasted|above|enclosed|here (?:is|are)|I'?m pasting)\b"
    r"(?:.|\n){0,120}?\b(?:summari[sz]\w*|digest|condense|outline|extract|list every|go through"
    r"|read|themes?|timeline|track|trace|compare|reconstruct|every)\b"
    r"|\b(?:summari[sz]e|digest|condense|read)\b(?:.|\n){0,80}?"
    r"\b(?:below|following|attached|pasted|above|enclosed)\b",
    re.IGNORECASE,
)
PLANNING = _words(
    r"plan\w*|roadmaps?|milestones?|timelines?|schedul\w*|prioriti[sz]\w*|sequenc\w*|phases?"
    r"|phased|break (?:it |this |that )?down|breakdown|decompos\w*|next steps?|step[- ]by[- ]step"
    r"|critical path|dependenc\w*|workstreams?|epics?|sprints?|backlog|OKRs?|deadlines?|owners"
    r"|roll ?out|kick-?off|agenda|estimat\w*|stag(?:e|ed|es|ing)|checkpoints?|rota|cadence"
    r"|what order|which order|tasks?|to-?dos?|goals?"
)
COORDINATION = _words(
    r"coordinat\w*|orchestrat\w*|delegat\w*|assign\w*|hand (?:off|over)|hands? (?:work|tasks?)"
    r"|handoffs?|agents?|sub-?agents?|workflows?|in parallel|who should|dispatch\w*|allocat\w*"
    r"|split (?:the|this) (?:work|job)|divide (?:the|this) work|team of|stakeholders?"
)
WORDING: tuple[Signal, ...] = (
    Signal(Lane.CODER, "code syntax", 0.4, CODE_SYNTAX),
    Signal(Lane.CODER, "programming vocabulary", 0.4, CODE_WORDS),
    Signal(Lane.CODER, "programming language", 0.4, LANGUAGES),
    Signal(Lane.GOVERNANCE, "regulation named", 0.6, REGULATIONS),
    Signal(Lane.GOVERNANCE, "compliance vocabulary", 0.45, COMPLIANCE_WORDS),
    Signal(Lane.GOVERNANCE, "licensing", 0.5, LICENSING),
    Signal(Lane.GOVERNANCE, "personal data", 0.5, PERSONAL_DATA),
    Signal(Lane.GOVERNANCE, "permission question", 0.35, PERMISSION),
    Signal(Lane.FAST_RAG, "about our knowledge", 0.55, OUR_KNOWLEDGE),
    Signal(Lane.FAST_RAG, "recall of past decisions", 0.5, RECALL),
    Signal(Lane.FAST_RAG, "lookup", 0.3, LOOKUP),
    Signal(Lane.SUPER_READER, "whole long material", 0.5, WHOLE_MATERIAL),
    Signal(Lane.SUPER_READER, "long material", 0.35, LONG_MATERIAL),
    Signal(Lane.SUPER_READER, "digest of pasted material", 0.25, PASTED_DIGEST),
    Signal(Lane.ORCHESTRATOR, "planning", 0.45, PLANNING),
    Signal(Lane.ORCHESTRATOR, "coordination", 0.45, COORDINATION),
)


def ask_parts(prompt: str) -> tuple[str, str]:
    """The ask: the whole of a short prompt; the head and tail of a long one (material between).

    The ask is usually a paragraph of its own, so head and tail stop at a blank line when there is
    one past the first few words."""
    if len(prompt) <= ASK_CHARS:
        return prompt, ""
    head, tail = prompt[:HEAD_CHARS], prompt[-TAIL_CHARS:]
    if (cut := head.find("\n\n", MIN_PARAGRAPH)) != -1:
        head = head[:cut]
    if (cut := tail.rfind("\n\n", 0, len(tail) - MIN_PARAGRAPH)) != -1:
        tail = tail[cut + 2 :]
    return head, tail


def embedding_text(prompt: str) -> str:
    """What is embedded: the ask's head (the model reads only ~256 word pieces anyway)."""
    return ask_parts(prompt)[0]


def describe(lane: Lane, evidence: Iterable[Evidence]) -> str:
    """The lane's fired signals, grouped by label: "code detected (fenced block, 'def')"."""
    groups: dict[str, list[str]] = {}
    for item in evidence:
        if item.lane == lane:
            groups.setdefault(item.label, []).append(item.detail)
    if not groups:
        return f"no rule signal for {lane}" + (
            " (the default lane)" if lane == Lane.ORCHESTRATOR else ""
        )
    return ", ".join(f"{label} ({', '.join(details)})" for label, details in groups.items())


def wording_evidence(prompt: str) -> list[Evidence]:
    """Vocabulary signals: in the head at full weight, in a long prompt's tail at half."""
    head, tail = ask_parts(prompt)
    found: list[Evidence] = []
    for signal in WORDING:
        for text, factor in ((head, 1.0), (tail, TAIL_FACTOR)):
            if matches := _distinct_matches(signal.pattern, text):
                # A second distinct word for the same thing is more evidence, with less weight.
                weight = (
                    signal.weight
                    if len(matches) == 1
                    else signal.weight * (1.5 - signal.weight / 2)
                )
                detail = ", ".join(f"'{match}'" for match in matches)
                found.append(Evidence(signal.lane, signal.label, detail, weight * factor))
                break
    return found


def _distinct_matches(pattern: re.Pattern[str], text: str, limit: int = 2) -> list[str]:
    seen: list[str] = []
    for match in pattern.finditer(text):
        word = " ".join(match.group(0).split())[:40]
        if word.lower() not in (each.lower() for each in seen):
            seen.append(word)
            if len(seen) == limit:
                break
    return seen


def combine(evidence: Iterable[Evidence]) -> dict[Lane, float]:
    """Each lane's rule score: noisy-or of its evidence (independent hints add up, never past 1)."""
    missing = dict.fromkeys(Lane, 1.0)
    missing[Lane.ORCHESTRATOR] = 1.0 - DEFAULT_PRIOR
    for item in evidence:
        missing[item.lane] *= 1.0 - min(item.weight, 1.0)
    return {lane: 1.0 - left for lane, left in missing.items()}


# Shape signals, read over the whole prompt: pasted code is material, and it still says "code".
FENCE = re.compile(r"^\s*(?:```|~~~)", re.MULTILINE)
TRACE = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w.$<>]+\([\w.]*:\d+\)|File \"[^\"]+\", line \d+"
    r"|panicked at|Exception in thread|\berror(?:\[E\d{4}\])?: |Segmentation fault|core dumped"
    r"|^\w+(?:Error|Exception): |^\s+at .+ \(.+:\d+:\d+\)$",
    re.MULTILINE,
)
DIFF_HEADER = re.compile(r"^(?:\+\+\+ |--- a/|@@ -\d+|diff --git )", re.MULTILINE)
DIFF_ADDED = re.compile(r"^\+(?!\+)\s*\S", re.MULTILINE)
DIFF_REMOVED = re.compile(r"^-(?!-)\s*\S", re.MULTILINE)
CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|if .*:\s*$|for .*:\s*$|while\b|#include"
    r"|public |private |fn |func |let |const |var |function\b|@\w+|}|.*[;{]\s*$|.*\)\s*:\s*$"
    r"|[\w.\[\]]+\s*[+\-*/]?=\s*\S|//|/\*|\*/|<\w+[^>]*>\s*$|SELECT\b|INSERT\b|\$ )"
)
MIN_CODE_LINES = 2
MIN_CODE_SHARE = 0.25


def shape_evidence(prompt: str) -> list[Evidence]:
    """Code by its shape: fenced blocks, stack traces, diffs, a share of lines that read as code."""
    text = prompt[:SCAN_CHARS]
    found: list[Evidence] = []
    if FENCE.search(text):
        found.append(Evidence(Lane.CODER, "code detected", "fenced block", 0.55))
    if match := TRACE.search(text):
        found.append(
            Evidence(Lane.CODER, "code detected", f"stack trace '{match[0].strip()[:30]}'", 0.6)
        )
    added, removed = len(DIFF_ADDED.findall(text)), len(DIFF_REMOVED.findall(text))
    if DIFF_HEADER.search(text) or (added and removed and added + removed >= 2):
        found.append(Evidence(Lane.CODER, "code detected", "diff", 0.5))
    lines = [line for line in text.splitlines() if line.strip()]
    code = sum(1 for line in lines if CODE_LINE.match(line))
    if code >= MIN_CODE_LINES and code >= MIN_CODE_SHARE * len(lines):
        found.append(Evidence(Lane.CODER, "code detected", f"{code} of {len(lines)} lines", 0.55))
    return found
