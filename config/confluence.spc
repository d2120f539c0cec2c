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

  # How long the connection keeps the inventory a full scan reads (sites,
  # and users with their activity), so that many queries in a row, such as
  # the controls of a benchmark, scan the org once. A number of seconds or
  # a Go duration such as "15m"; 0 turns the cache off, and every query
  # then reads the org afresh.
  # Default: "1h". Environment variable: CONFLUENCE_INVENTORY_CACHE_TTL.
  # inventory_cache_ttl = "1h"

  # Price table for confluence_license and confluence_spend, used where the
  # session gives no bill estimate. One entry per edition (standard,
  # premium, enterprise) and billing cycle. Monthly entries list per-user
  # bands, graduated: each band prices the users inside it, and up_to = 0
  # means no upper limit. Annual entries list user tiers and the yearly
  # price of each. Amounts are decimal strings in the ISO 4217 currency,
  # one currency for the whole table. Setting prices replaces the default
  # table whole.
  # Default: the plugin's approximate USD table (see docs/index.md).
  # Environment variable: CONFLUENCE_PRICES (the same value, HCL or JSON).
  # prices = [
  #   {
  #     edition  = "standard"
  #     cycle    = "monthly"
  #     currency = "USD"
  #     bands = [
  #       { up_to = 100, per_user = "6.40" },
  #       { up_to = 0, per_user = "5.10" },
  #     ]
  #   },
  #   {
  #     edition  = "standard"
  #     cycle    = "annual"
  #     currency = "USD"
  #     tiers = [
  #       { users = 100, price = "6400.00" },
  #       { users = 200, price = "11500.00" },
  #     ]
  #   },
  # ]

  # Admin API and admin hub requests a minute for the org, shared by every
  # connection of this plugin process that reads the same org, in bursts
  # of up to 10. When connections of one org set different values, the
  # lowest applies. 0 turns the limiter off for this connection only. An
  # estimate: Atlassian publishes no limits.
  # Default: 180. Environment variable: CONFLUENCE_ORG_REQUESTS_PER_MINUTE.
  # org_requests_per_minute = 180

  # REST requests a minute for each Confluence site, shared the same way,
  # in bursts of up to 20. 0 turns the site limiters off for this
  # connection only; the site requests a table sends while listing its
  # rows then go out as fast as the site answers.
  # Default: 600. Environment variable: CONFLUENCE_SITE_REQUESTS_PER_MINUTE.
  # site_requests_per_minute = 600

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

# Rate limiters. Besides the org and site limits above, the plugin paces
# its requests with two Steampipe limiters, one per connection:
# confluence_admin_api (3 requests a second, bursts of 10) and
# confluence_site_rest (10 a second, bursts of 20). Atlassian publishes no
# limits, so these defaults are estimates. A limiter block with the same
# name replaces a default.
# plugin "confluence" {
#   source = "local/confluence"
#
#   limiter "confluence_admin_api" {
#     fill_rate   = 2
#     bucket_size = 10
#     scope       = ["connection"]
#     where       = "service = 'admin_api'"
#   }
# }
