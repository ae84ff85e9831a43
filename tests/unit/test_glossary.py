"""The glossary (chalicelib/glossary.py) names one code word per business term and points at modules that exist."""

from __future__ import annotations

import pathlib

from chalicelib import glossary

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_one_code_name_per_term_and_one_term_per_code_name():
    assert len(glossary.BY_CHINESE) == len(glossary.TERMS)
    assert len(glossary.BY_CODE) == len(glossary.TERMS)


def test_the_terms_the_issue_names_are_there():
    # issue 19: 汇缴 remittance, 补缴 back_payment, 提取 withdrawal, 月对冲 offset, 封存/启封 seal/unseal,
    # 缴存基数 base, 积数 jishu, 业务明细 business record
    expected = {"汇缴": "remittance", "补缴": "back_payment", "提取": "withdrawal", "月对冲": "offset", "封存": "seal",
                "启封": "unseal", "缴存基数": "base", "积数": "jishu", "业务明细": "business record"}
    assert {k: glossary.BY_CHINESE[k].code for k in expected} == expected


def test_every_module_named_exists():
    missing = [m for t in glossary.TERMS for m in t.modules if not (ROOT / m).is_file()]
    assert missing == []
