"""Corpus definitions: public datasets turned into inputs ``mmroute index`` understands.

Each corpus module converts its source format into mmroute's files (a JSONL text corpus, a
questions JSONL, or a media folder with caption/subtitle sidecars). Sources are local files
here; on a machine with internet the same functions accept an ``https://`` URL and download it
once into a cache (``fetch``).

- :mod:`mmroute.corpora.shared`       the sample corpora in ``../shared/data`` (used by ``make demo``)
- :mod:`mmroute.corpora.squad`        SQuAD 1.1/2.0 JSON -> paragraphs + questions
- :mod:`mmroute.corpora.hotpotqa`     HotpotQA distractor JSON -> pooled paragraphs + questions with gold ids
- :mod:`mmroute.corpora.webqa`        WebQA-style image sets -> an image folder with a captions.json sidecar
- :mod:`mmroute.corpora.video_folder` a folder of videos + timed captions -> videos with .srt sidecars
"""

from .base import CorpusError, fetch

__all__ = ["CorpusError", "fetch"]
