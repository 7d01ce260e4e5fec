"""nbconvert settings for one lesson exported as one HTML file that needs no internet.

    jupyter nbconvert --config class_mode/offline_html_config.py --to html --execute notebooks/widgets_gallery.ipynb

nbconvert's HTML page asks CDNs for require.js and MathJax (and, when the notebook holds widget
state, for the widget manager's JavaScript): without internet those requests fail or hang. The
lessons need none of them: their charts are pictures (matplotlib) or plotly snapshots with
plotly.js inside the page (`course_lib.widgets.base.snapshots`, `include_plotlyjs=True`), and
a widget without a kernel cannot run anyway. tests/browser/test_offline.py opens such an
export with every request to another host failing and checks that none was attempted.

Formulas stay as $...$ text here (no MathJax), and a live explorer as a one-line note. For the
whole course as pages with formulas, explorers' last pictures and slides, use
`python scripts/export_site.py` (MathJax and plotly.js from the site's own _static/ folder).
"""
c = get_config()  # noqa: F821 (provided by nbconvert when it reads this file)

c.HTMLExporter.require_js_url = ""  # nothing in the lessons' outputs uses require.js
c.HTMLExporter.mathjax_url = ""  # no MathJax from a CDN: formulas stay as text (see above)
c.HTMLExporter.mermaid_js_url = ""  # loaded only for a mermaid diagram; the lessons have none
c.ExecutePreprocessor.store_widget_state = False  # no widget state: no widget manager from a CDN
