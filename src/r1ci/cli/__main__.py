"""`python -m r1ci.cli ...`: the same app as the `r1ci` script, runnable as a module, which is what
`accelerate launch -m r1ci.cli sft train ...` needs (accelerate launches a module or a script path)."""

from r1ci.cli import app

if __name__ == "__main__":
    app(prog_name="r1ci")
