"""The project's Dockerfile passes our linter, and the linter catches each
rule's violation (so a clean result means something)."""
import pytest

import deploy_testlib
import dockerfile_lint

GOOD = """\
FROM debian:12.11 AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ \\
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
FROM debian:12.11-slim
COPY --from=build /src/app /usr/local/bin/app
USER 10001:10001
EXPOSE 8080
HEALTHCHECK CMD ["/usr/local/bin/app", "--check"]
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["--port=8080"]
"""


def test_repository_dockerfile_has_no_findings():
    assert dockerfile_lint.lint(deploy_testlib.DOCKERFILE.read_text()) == []


def test_good_sample_has_no_findings():
    assert dockerfile_lint.lint(GOOD) == []


@pytest.mark.parametrize("old, new, rule", [
    ("FROM debian:12.11-slim", "FROM debian:latest", "base-pinned"),
    ("FROM debian:12.11-slim", "FROM debian", "base-pinned"),
    ("FROM debian:12.11-slim", "FROM debian:bookworm-slim", "base-pinned"),
    ("apt-get update && ", "", "apt-update-install"),
    ("-y --no", "--no", "apt-yes"),
    ("--no-install-recommends ", "", "apt-no-recommends"),
    (" \\\n && rm -rf /var/lib/apt/lists/*", "", "apt-lists-removed"),
    ("COPY . .", "RUN apt install -y make", "no-apt"),
    ("COPY . .", "RUN sudo make", "no-sudo"),
    ("COPY . .", "ADD https://example.com/x.tgz /src/", "no-add"),
    ("USER 10001:10001", "USER root", "user-non-root"),
    ("USER 10001:10001\n", "", "user-non-root"),
    ('HEALTHCHECK CMD ["/usr/local/bin/app", "--check"]', "HEALTHCHECK NONE", "healthcheck"),
    ("EXPOSE 8080\n", "", "expose"),
    ('ENTRYPOINT ["/usr/local/bin/app"]', "ENTRYPOINT /usr/local/bin/app", "exec-form"),
    ("WORKDIR /src", "WORKDIR src", "workdir-absolute"),
])
def test_each_rule_reports_its_violation(old, new, rule):
    assert old in GOOD, f"sample no longer contains {old!r}"
    findings = dockerfile_lint.lint(GOOD.replace(old, new, 1))
    assert any(f"{rule}:" in finding for finding in findings), findings


def test_stage_names_are_not_base_images():
    text = GOOD + "FROM build AS again\nUSER 1\nEXPOSE 1\nHEALTHCHECK CMD [\"true\"]\n"
    assert dockerfile_lint.lint(text) == []
