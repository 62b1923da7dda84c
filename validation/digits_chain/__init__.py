"""Stages of ``python -m validation.digits`` (docs/digits.md), one module per stage.

``settings`` (presets), ``anchors`` (slice search), ``slice_run`` (one slice through every
stage), ``metric`` (posteriors, fits, boundaries vs label boundaries), ``probes`` (probe
points, zoom, Lipschitz), ``paths`` (geodesic vs straight), ``figures``, ``report``
(aggregation, verdicts, ``digits.md``).
"""
