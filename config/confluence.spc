connection "confluence" {
  plugin = "local/confluence"

  # The plugin reaches an Atlassian organization by one of three routes.
  # Set the arguments of exactly one:
  #
  # 1. Sign-in: email, password and totp_secret. The plugin signs in to the
  #    admin hub like a browser and reaches everything, billing data included.
  # 2. Pasted session: session_token, the cloud.session.token cookie of a
  #    signed-in browser. Reaches what route 1 reaches until the session
  #    expires, and cannot renew itself.
  # 3. Documented API: api_key, plus email and api_token for site data.
  #    Reaches the Admin API and each site's REST API, but no billing data.
  #
  # A password and a TOTP secret in one file are ONE factor, not two: use a
  # dedicated admin account and keep this file readable by its owner only
  # (chmod 600 ~/.steampipe/config/confluence.spc).

  # E-mail address of the admin account. Needed by routes 1 and 3.
  # Default: none. Environment variable: CONFLUENCE_EMAIL.
  # email = "finops-admin@example.com"

  # Password of the admin account (route 1).
  # Default: none. Environment variable: CONFLUENCE_PASSWORD.
  # password = "..."

  # Secret of the account's authenticator app (route 1): the base32 text
  # shown under "can't scan the code?" at enrollment, or the whole
  # otpauth:// URI. Spaces, dashes and lower case are accepted.
  # Default: none. Environment variable: CONFLUENCE_TOTP_SECRET.
  # totp_secret = "..."

  # Value of the cloud.session.token cookie (route 2). Conflicts with
  # password.
  # Default: none. Environment variable: CONFLUENCE_SESSION_TOKEN.
  # session_token = "..."

  # Org API key from admin.atlassian.com > Settings > API keys (route 3).
  # Default: none. Environment variable: CONFLUENCE_API_KEY.
  # api_key = "..."

  # API token of the account named by email, from
  # id.atlassian.com/manage-profile/security/api-tokens (route 3, site data).
  # Default: none. Environment variable: CONFLUENCE_API_TOKEN.
  # api_token = "..."

  # Organization to read. Needed only when the account administers more
  # than one; the id is in the admin hub URL (admin.atlassian.com/o/<org id>).
  # Default: the only org of the account. Environment variable:
  # CONFLUENCE_ORG_ID.
  # org_id = "..."

  # Confluence sites to read, as host names, URLs or cloud ids.
  # Default: every Confluence site of the org, sandboxes included.
  # Environment variable: CONFLUENCE_SITES (comma separated).
  # sites = ["example.atlassian.net"]

  # Directory of the cached sign-in sessions, one 0600 file per account.
  # Must be an absolute path; a leading "~/" means the home directory.
  # Default: the user cache directory, for example
  # ~/.cache/steampipe-plugin-confluence/sessions on Linux.
  # Environment variable: CONFLUENCE_SESSION_CACHE_PATH.
  # session_cache_path = "~/.cache/steampipe-plugin-confluence/sessions"

  # Base URLs of the Atlassian hosts, changed only to point the plugin at
  # the bundled emulator or a proxy. Plain http is accepted for loopback
  # addresses only.
  # Defaults: https://id.atlassian.com, https://admin.atlassian.com and
  # https://api.atlassian.com. Environment variables: CONFLUENCE_IDENTITY_URL,
  # CONFLUENCE_ADMIN_HUB_URL and CONFLUENCE_ADMIN_API_URL.
  # identity_url  = "https://id.atlassian.com"
  # admin_hub_url = "https://admin.atlassian.com"
  # admin_api_url = "https://api.atlassian.com"
}
