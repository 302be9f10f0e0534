# One entry point for each chore. Run inside the venv (see README).
.PHONY: test lint typecheck codegen codegen-check bench bench-quick demo

test: lint typecheck codegen-check
	python -m pytest -q

lint:
	ruff check src tests bench scripts

typecheck:
	mypy

codegen:
	python scripts/codegen.py
	python scripts/compile_rules.py

codegen-check:
	python scripts/codegen.py --check
	python scripts/compile_rules.py --check

bench:
	python -m bench

bench-quick:
	python -m bench --quick

demo:
	openapiopenai demo
