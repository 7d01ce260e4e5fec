# Two commands do everything on a fresh clone:
#   make course   set up .venv (first time only) and open the course in JupyterLab
#   make test     set up .venv (first time only) and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: course test setup class-mode class-server editions site site-assets clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install -r requirements-dev.txt
	$(BIN)/pip install -e . --no-deps
	touch $@

setup: $(VENV)/.installed

course: setup
	$(BIN)/jupyter lab notebooks/

# Class mode's template (class_mode/jupyter_data/voila/templates/course) is Voila's own without
# the stylesheets Voila asks a CDN for: the page needs nothing from the internet.
class-mode: setup
	JUPYTER_PATH=class_mode/jupyter_data $(BIN)/voila class_mode/class_mode.ipynb --theme=light --template=course

# COURSE_FAST=1 shrinks the lessons' training; COURSE_FILL_SOLUTIONS=1 makes the exercise
# checkers check the reference solutions; --nbval-lax runs every notebook in notebooks/.
# OMP_WAIT_POLICY=PASSIVE: idle torch threads sleep instead of spinning, so the kernel,
# the browser and the servers of the tests do not starve each other on a 2-core machine.
test: setup site-assets
	COURSE_FAST=1 COURSE_FILL_SOLUTIONS=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax \
		--nbval-cell-timeout=600 --durations=15

# A class on one server: JupyterHub with a JupyterLab per student (class/README.md).
class-server: setup
	class/start.sh

# The student edition (no solutions, no answer keys) and the instructor edition (exercises
# filled in), in dist/.
editions: setup
	$(BIN)/python scripts/make_editions.py --out dist

# reveal.js and MathJax for the exported pages and slides, from the npm registry into the
# git-ignored node_modules/ (never committed).
# Without npm, `make test` still runs: the export tests that need these are skipped, saying so.
node_modules/.course-assets:
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix . --no-save --no-package-lock --no-audit --no-fund reveal.js@5.2.1 mathjax@3.2.2 && touch $@; \
	else echo "npm not found: the pages/slides export and the class server need it (e.g. apt install npm)"; fi

site-assets: node_modules/.course-assets

# Every lesson as an offline HTML page plus reveal.js slides, in dist/site/.
site: setup site-assets
	$(BIN)/python scripts/export_site.py --slides

clean-venv:
	rm -rf $(VENV)
