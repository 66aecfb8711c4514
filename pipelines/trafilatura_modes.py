"""trafilatura's text in its recall mode and then its balanced mode, the page pruned once.

The newsmill engine (pipelines/article_text.newsmill_text) runs trafilatura twice on a page
whose recall text is short: recall, then balanced. Each bare_extraction copies the page and
prunes it with two lists of XPath expressions before any step that depends on the mode
(trafilatura_sequence's first lines): ~15% of a run's CPU, the same work on the same tree
twice. Here those first steps run once (prune_page) and each mode starts from their result
(mode_text), which no step of a run modifies (each copies what it changes).

Written out because trafilatura has no entry point that starts from a pruned tree: the steps
are those of trafilatura 2.3.1's bare_extraction and trafilatura_sequence for the options
the engine passes (text only, comments off, no metadata, formatting, language or
deduplication) on a page that is no forum thread. Any other case, and any other trafilatura
version, goes through bare_extraction itself (prune_page returns None).
tests/test_extraction_workers.py holds the two equal on the corpus pages.
"""

from __future__ import annotations

import logging

# The trafilatura whose steps mode_text repeats (constraints.txt pins it).
WRITTEN_FOR = "2.3.1"

logger = logging.getLogger(__name__)


def prune_page(tree, include_comments: bool):
    """A copy of `tree` pruned as trafilatura_sequence prunes it before anything that
    depends on the mode; None where mode_text does not apply (see the module docstring)."""
    import trafilatura
    from trafilatura.core import (
        RAW_TREE_PRUNE_XPATH,
        REMOVE_COMMENTS_AND_LISTS_XPATH,
        _forum_thread_page,
        copy,
        prune_unwanted_nodes,
    )

    if include_comments or trafilatura.__version__ != WRITTEN_FOR:
        return None
    try:
        if _forum_thread_page(tree):
            return None
        pruned = prune_unwanted_nodes(copy(tree), RAW_TREE_PRUNE_XPATH)
        return prune_unwanted_nodes(pruned, REMOVE_COMMENTS_AND_LISTS_XPATH)
    except (TypeError, ValueError):
        return None  # bare_extraction then meets the same and finds nothing, as before


def mode_text(pruned, url: str, focus: str, include_tables: bool = True) -> str:
    """What bare_extraction(tree, url=url, favor_recall=focus == "recall",
    include_comments=False, include_tables=...).text gives ("" for None), from
    prune_page(tree). `focus` is "recall" or "balanced"; `pruned` is left as it was."""
    from trafilatura.core import (
        DEFAULT_CONFIG,
        ESCALATION_MAX_LENGTH,
        ESCALATION_PAGE_SHARE,
        Extractor,
        _prepare_tree,
        baseline,
        compare_extraction,
        copy,
        extract_content,
        html2txt,
        strip_tags,
        xmltotxt,
    )

    options = Extractor(config=DEFAULT_CONFIG, output_format="python", fast=False,
                        precision=False, recall=focus == "recall", comments=False,
                        formatting=None, links=False, images=False, tables=include_tables,
                        dedup=False, lang=None, url=url, with_metadata=False,
                        only_with_metadata=False, author_blacklist=None, url_blacklist=None,
                        date_params=None)
    tree = pruned
    try:
        # trafilatura_sequence, from its _prepare_tree on (comments off, not a forum, not
        # precision: nothing captured, nothing more pruned)
        cleaned_tree, cleaned_tree_backup = _prepare_tree(tree, options, url)
        postbody, temp_text = extract_content(cleaned_tree, options)
        # _extract_and_compare; compare_extraction returns at once in recall mode with this
        # much text, so its copy of the page is not made for it
        if not (options.focus == "recall" and len(temp_text) > options.min_extracted_size * 10):
            postbody, temp_text = compare_extraction(cleaned_tree_backup, copy(tree), postbody,
                                                     temp_text, options)
        if len(temp_text) < options.min_extracted_size:  # the baseline rescue
            b_body, b_text, b_len = baseline(tree)
            if b_len > len(temp_text):
                postbody, temp_text = b_body, b_text
        if (options.focus == "balanced" and 0 < len(temp_text) < ESCALATION_MAX_LENGTH
                and len(temp_text) < ESCALATION_PAGE_SHARE * len(html2txt(tree))):
            postbody, temp_text = _escalated(tree, options, url, postbody, temp_text)
        # bare_extraction, after trafilatura_sequence (no comments: their length is 0)
        if options.max_tree_size:
            if len(postbody) > options.max_tree_size:
                strip_tags(postbody, "hi")
            if len(postbody) > options.max_tree_size:
                raise ValueError
        if len(temp_text) < options.min_output_size and 0 < options.min_output_comm_size:
            raise ValueError
    except (TypeError, ValueError):
        return ""
    return xmltotxt(postbody, options.formatting) or ""


def _escalated(tree, options, url, postbody, temp_text):
    """trafilatura_sequence's recall escalation in balanced mode (comments off: the
    escalation's input is the pruned page itself)."""
    from trafilatura.core import (
        ESCALATION_ACCEPT_RATIO,
        ESCALATION_JUSTEXT_RATIO,
        _recall_retry,
        copy,
        justext_rescue,
    )

    r_options = copy(options)
    r_options.focus = "recall"
    r_text = ""
    try:
        r_body, r_text = _recall_retry(tree, r_options, url)
    except Exception as err:  # as trafilatura does
        logger.debug("recall retry failed: %s %s", err, url)
    j_text = ""
    try:
        j_body, j_text = justext_rescue(copy(tree), options)
    except Exception as err:
        logger.debug("justext candidate failed: %s %s", err, url)
    len_text, r_len, j_len = len(temp_text), len(r_text), len(j_text)
    if j_len > r_len and j_len > ESCALATION_JUSTEXT_RATIO * len_text:
        return j_body, j_text
    if r_len >= options.min_extracted_size and r_len > ESCALATION_ACCEPT_RATIO * len_text:
        return r_body, r_text
    return postbody, temp_text
