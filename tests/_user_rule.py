"""A user's own Sigma rule, as the tests of user rule folders write it into one."""

#: Every failed login, at level low; the tests change its `type` to see it converted again.
ANY_LOGIN_FAILURE = """title: Any Login Failure
id: 3d8f2a51-6a47-4bd5-9f0e-2a6c1d3e4f50
status: experimental
description: Every failed login, for this test.
author: me
date: 2026-12-01
logsource:
    product: openai
    service: audit
detection:
    selection:
        type: login.failed
    condition: selection
level: low
"""
