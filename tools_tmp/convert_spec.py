"""One-off: draft assignments/<ex>/exercise.py from autograder/builder/specs/<ex>.py (solutions -> functions)."""
import re, sys, textwrap
ex = sys.argv[1]
spec = open(f'autograder/builder/specs/{ex}.py').read()
answers = []
def repl(m):
    code = textwrap.dedent(m.group(1))
    code = "\n".join(l for l in code.splitlines() if l.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
    names = re.findall(r"^def (\w+)\(", code, flags=re.M)
    answers.append(code.strip())
    return '""", ' + (names[0] if len(names) == 1 else "(" + ", ".join(names) + ")") + ", ["
body = re.sub(r"\"\"\", '''\n(.*?)''', \[", repl, spec, flags=re.S)
body = body.replace("from autograder.builder.notebooks import", "from solutions.describe import")
body = body.replace("from autograder.builder.specs.common import", "from solutions.describe import")
i = body.index("\ndef intro():")
out = body[:i] + "\n\n# ---------------------------------------------------------------- model answers (the master notebook's solutions)\n\n" + "\n\n\n".join(answers) + "\n\n\n# ---------------------------------------------------------------- the notebook\n" + body[i:]
open(f'assignments/{ex}/exercise.py', 'w').write(out)
print(ex, len(answers), "answers")
