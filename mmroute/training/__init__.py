"""Training and experiment support: what builds the shipped models, never what serves a question.

Nothing that answers, routes, retrieves, reads or serves imports this package (``tests/core/test_layering.py``
checks it); only the training commands of the CLI do, inside the command functions
(``mmroute route train|finetune``, ``mmroute reader train``), and the ``evals/`` scripts.

- :mod:`.router`: cross-validating and training the shipped (trained) router; source-grouped folds;
- :mod:`.router_fit`: fitting one linear router model on prepared rows (configuration, augmented rows,
  the classifier, temperature scaling, stratified folds);
- :mod:`.router_distill`: soft labels from a slower teacher router, out of fold;
- :mod:`.router_finetune`: fine-tuning an encoder as a router (``mmroute route finetune``);
- :mod:`.perturbations`: surface perturbations that must not change a route (training augmentation and
  the invariance checks);
- :mod:`.reader`: fine-tuning an encoder into the extractive reader (``mmroute reader train``);
- :mod:`.unanswerables`: rule-made unanswerable questions for reader and support-model training.

The runtime pieces these build on stay where they run: labelled routing data and router evaluation in
:mod:`mmroute.routing.dataset` and :mod:`mmroute.routing.evaluation` (``mmroute route eval``), SQuAD data and
metrics in :mod:`mmroute.reading.squad` (``mmroute eval``, the verifier), reader evaluation in
:mod:`mmroute.reading.evaluation` (``mmroute reader eval|calibrate``).
"""
