#!/bin/sh
# vqseg container entrypoint (the image's ENTRYPOINT; also runs outside Docker, see tests/deploy).
#
#   (no arguments), serve [OPTIONS]   -> vqseg serve: settings from the VQSEG_* variables
#   -OPTION ...                       -> vqseg serve -OPTION ...
#   stream|demo ...                   -> that vqseg command, SIGTERM handled like Ctrl-C (stop_gracefully.py)
#   eval|bench|train|export ...       -> that vqseg command
#   anything else                     -> run as given (bash, python script.py, ...)
#
# The server replaces this shell (exec), so it is the process that receives SIGTERM and drains.
# A client command replaces it too, through stop_gracefully.py: as PID 1 a Python program would ignore
# SIGTERM (docker stop would kill it after the grace period); there it closes its stream and exits 0.
set -eu

if [ "$#" -eq 0 ]; then
  set -- serve
fi
case "$1" in
  -*) set -- serve "$@" ;;
esac

case "$1" in
  serve)
    # Fail fast and say why when a model path is set but is not there (volume not mounted, typo).
    if [ -n "${VQSEG_MODEL:-}" ] && [ ! -f "$VQSEG_MODEL" ]; then
      echo "vqseg-entrypoint: VQSEG_MODEL=$VQSEG_MODEL is not a file." >&2
      echo "  Mount your models read-only at /models (docker run -v /srv/vqseg/models:/models:ro ...)" >&2
      echo "  and set VQSEG_MODEL=/models/<file>, or unset VQSEG_MODEL to serve the embedded default model." >&2
      exit 78
    fi
    exec vqseg "$@"
    ;;
  stream | demo)
    exec python "${VQSEG_SHARE:-/usr/local/share/vqseg}/stop_gracefully.py" "$@"
    ;;
  eval | bench | train | export)
    exec vqseg "$@"
    ;;
esac
exec "$@"
