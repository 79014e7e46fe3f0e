# Sourced by every ci/ script: strict mode, the repository root as working
# directory, plain cargo output, and the script's wall time on exit (the
# whole run must stay well under 30 minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
CI_STEP=$(basename "$0")
CI_T0=$(date +%s)
echo "== $CI_STEP"
trap 'echo "== $CI_STEP: $? after $(( $(date +%s) - CI_T0 )) s"' EXIT
