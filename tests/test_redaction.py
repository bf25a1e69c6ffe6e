"""Redaction: no credential from a host spec, a URL, a command line or a CI environment reaches a report."""

from __future__ import annotations

import pytest

from pytest_backupnet.redaction import redact_args, redact_environment, redact_url

SECRET = "S3cr3t-T0ken"

URLS = [
    (f"ssh://user:{SECRET}@host", "ssh://user:***@host"),
    (f"paramiko://u:{SECRET}@h:22", "paramiko://u:***@h:22"),
    (f"ansible://u:{SECRET}@web1?ansible_inventory=/etc/inv", "ansible://u:***@web1?ansible_inventory=/etc/inv"),
    (f"winrm://Administrator:{SECRET}@win1:5986?no_ssl=true", "winrm://Administrator:***@win1:5986?no_ssl=true"),
    (f"https://{SECRET}@ci.example/x", "https://***@ci.example/x"),
    (f"https://oauth2:{SECRET}@gitlab.example/group/repo.git", "https://oauth2:***@gitlab.example/group/repo.git"),
    (f"root:{SECRET}@web1", "root:***@web1"),
    (f"web1,root:{SECRET}@web2,ssh://a:{SECRET}@web3", "web1,root:***@web2,ssh://a:***@web3"),
    (f"ssh://u:pa/{SECRET}@host", "ssh://u:***@host"),
    (f"ssh://u:p@{SECRET}@host", "ssh://u:***@host"),
    (f'ssh://u:"{SECRET}@host', "ssh://u:***@host"),
    (f"https://gitlab.example/api?private_token={SECRET}&page=2", "https://gitlab.example/api?private_token=***&page=2"),
    (f"https://s3.example/b/k?X-Amz-Signature={SECRET}", "https://s3.example/b/k?X-Amz-Signature=***"),
    (f"see https://u:{SECRET}@jenkins.example/7/ for logs", "see https://u:***@jenkins.example/7/ for logs"),
    (f'{{"url": "https://u:{SECRET}@h/x"}}', '{"url": "https://u:***@h/x"}'),
]  # fmt: skip
UNCHANGED = [
    "ssh://root@web1",  # a login name is no secret, and says how the host was reached
    "paramiko://web1:2222",
    "local://",
    "web1,web2",
    "https://ci.example/job/build@2/",
    "https://registry.example:8443/@scope/pkg",
    "fe80::1%eth0",
    "[2001:db8::1]:8087",
    "backup-team@example.com",
    "/opt/BUAgent/*.cfg",
]


@pytest.mark.parametrize(("text", "redacted"), URLS)
def test_credentials_are_masked(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted
    assert SECRET not in redact_url(text)


@pytest.mark.parametrize("text", UNCHANGED)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert redact_url(text) == text


def test_command_line() -> None:
    args = [
        "--profile", "commercial",
        "--hosts", f"ssh://root:{SECRET}@web1,web2",
        f"--hosts=admin:{SECRET}@db1",
        "--sudo-password", SECRET,
        f"--api-token={SECRET}",
        "--ssh-identity-file", "/home/ci/.ssh/id_ed25519",
        "-o", f"junit_suite_name=https://u:{SECRET}@x/y",
    ]  # fmt: skip
    redacted = redact_args(args)
    assert SECRET not in " ".join(redacted)
    assert redacted == [
        "--profile", "commercial",
        "--hosts", "ssh://root:***@web1,web2",
        "--hosts=admin:***@db1",
        "--sudo-password", "***",
        "--api-token=***",
        "--ssh-identity-file", "/home/ci/.ssh/id_ed25519",  # a path says where a key is, not what
        "-o", "junit_suite_name=https://u:***@x/y",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("hosts", "redacted"),
    [
        (f"ssh://u:{SECRET} x@h1", "ssh://u:***@h1"),  # white space in the password
        (f"ssh://u:a'{SECRET}\"@h1,paramiko://v:{SECRET}/?@h2", "ssh://u:***@h1,paramiko://v:***@h2"),
        (f"u:{SECRET} @h3,h4", "u:***@h3,h4"),
        (f"ssh://root@h5?ssh_config=/x&password={SECRET}", "ssh://root@h5?ssh_config=/x&password=***"),
        ("ssh://root@h6,local://", "ssh://root@h6,local://"),
    ],
)
def test_host_lists_mask_whatever_a_password_holds(hosts: str, redacted: str) -> None:
    for args, expected in (
        (["--hosts", hosts], ["--hosts", redacted]),
        ([f"--hosts={hosts}"], [f"--hosts={redacted}"]),
    ):
        assert redact_args(args) == expected
        assert SECRET not in " ".join(redact_args(args))


def test_environment_table() -> None:
    environment = {
        "BUILD_URL": f"https://jenkins:{SECRET}@jenkins.example/job/audit/42/",
        "CI_PROJECT_URL": f"https://gitlab-ci-token:{SECRET}@gitlab.example/ops/audit",
        "CI_JOB_TOKEN": SECRET,
        "GITHUB_TOKEN": SECRET,
        "DB_PASSWORD": SECRET,
        "DB_PASS": SECRET,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "SSH_PRIVATE_KEY": SECRET,
        "NPM_AUTH": SECRET,
        "GIT_AUTHOR_NAME": "Ops Team",
        "Plugins": {"html": "4.1.1", "metadata": f"https://u:{SECRET}@h/"},
        "Hosts": ["web1", f"root:{SECRET}@web2"],
        "Python": "3.11.7",
        "Port": 8087,
    }
    redacted = redact_environment(environment)
    assert SECRET not in repr(redacted)
    assert redacted["BUILD_URL"] == "https://jenkins:***@jenkins.example/job/audit/42/"
    assert redacted["CI_PROJECT_URL"] == "https://gitlab-ci-token:***@gitlab.example/ops/audit"
    assert redacted["CI_JOB_TOKEN"] == redacted["AWS_SECRET_ACCESS_KEY"] == "***"
    assert redacted["GIT_AUTHOR_NAME"] == "Ops Team"
    assert redacted["Plugins"] == {"html": "4.1.1", "metadata": "https://u:***@h/"}
    assert redacted["Hosts"] == ["web1", "root:***@web2"]
    assert (redacted["Python"], redacted["Port"]) == ("3.11.7", 8087)
