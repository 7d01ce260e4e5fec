#!/usr/bin/env bash
# Start the class server: JupyterHub with one JupyterLab per student (class/README.md).
#
#   class/start.sh                 install what is missing, then serve on port 8000
#   class/start.sh --port 9000     any further arguments go to jupyterhub
#   class/start.sh --install       only install what is missing
#
# Installs, the first time only: the course's .venv (make setup), JupyterHub into it
# (class/requirements.txt), Node.js from Debian/Ubuntu when npm is missing (as root), and
# JupyterHub's proxy, configurable-http-proxy, from npm into class/proxy/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ] || [ ! -e "$VENV/.installed" ]; then
  make setup VENV="$VENV"
fi
if [ ! -x "$VENV/bin/jupyterhub" ]; then
  "$VENV/bin/pip" install -q -r class/requirements.txt
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "class/start.sh: npm is missing; install Node.js 20 or later (Debian/Ubuntu: sudo apt-get install nodejs npm)" >&2
    exit 1
  fi
fi
if [ ! -x class/proxy/node_modules/.bin/configurable-http-proxy ]; then
  npm ci --prefix class/proxy --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = "--install" ]; then
  exit 0
fi
roster=${COURSE_CLASS_ROSTER:-class/roster.txt}
if [ ! -f "$roster" ]; then
  echo "class/start.sh: no roster at $roster. Write your students' names there, one a line, e.g.:" >&2
  echo "  cp class/roster.example.txt class/roster.txt && nano class/roster.txt" >&2
  exit 1
fi
exec "$VENV/bin/jupyterhub" -f class/jupyterhub_config.py "$@"
