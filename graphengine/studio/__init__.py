"""``graphengine studio``: a local web page to see, hear and try every node of a graph.

The page (:mod:`graphengine.studio.app`, assets in ``assets/``, no CDN) lays
the graph out with its typed ports; a click on a node shows its output (a
player for audio, its waveform and spectrogram, a feature plot, a picture or
a table of values), its parameters with units and allowed ranges, and its
cache status with the reason it was computed. A value typed into a parameter
is tried like ``--set`` (the file is never written) and the nodes it
recomputed are marked. The page follows the graph file as it is saved, and
shows errors on the nodes they name. State lives in
:class:`graphengine.studio.session.Session`; :func:`graphengine.studio.server.serve`
runs it. Needs the ``studio`` extra (Starlette and Uvicorn).
"""
