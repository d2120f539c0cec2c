# The Powerpipe counterpart of `recommend --output html` (docs/report.md):
# what each Confluence site costs, seats bought against billable users,
# users by days since last active, and the savings recommendations with
# their sums per recommendation.
# Amounts are summed in minor units per currency, never across currencies,
# and formatted with the currency's exponent (0 for JPY and KRW, else 2).

dashboard "confluence_spend" {
  title = "Confluence Spend"

  tags = merge(local.confluence_savings_common_tags, {
    type = "Dashboard"
  })

  container {
    card {
      title = "Sites"
      width = 2
      sql   = <<-EOQ
        select count(*) as value from confluence_license
      EOQ
    }

    card {
      title = "Users with Confluence access"
      width = 2
      sql   = <<-EOQ
        select count(*) as value from confluence_user
      EOQ
    }

    card {
      title = "Spend a month"
      width = 4
      sql   = <<-EOQ
        select
          coalesce(string_agg(
            case when currency in ('JPY', 'KRW') then to_char(total, 'FM999999999999990')
              else to_char(total / 100.0, 'FM999999999999990.00') end || ' ' || currency,
            ', ' order by currency), 'no priced site') as value
        from (
          select currency, sum(amount_monthly_minor) as total
          from confluence_license
          where amount_monthly_minor is not null
          group by currency
        ) as t
      EOQ
    }

    card {
      title = "Spend a year"
      width = 4
      sql   = <<-EOQ
        select
          coalesce(string_agg(
            case when currency in ('JPY', 'KRW') then to_char(total, 'FM999999999999990')
              else to_char(total / 100.0, 'FM999999999999990.00') end || ' ' || currency,
            ', ' order by currency), 'no priced site') as value
        from (
          select currency, sum(amount_annual_minor) as total
          from confluence_license
          where amount_annual_minor is not null
          group by currency
        ) as t
      EOQ
    }

    card {
      title = "Unused seats"
      width = 2
      type  = "info"
      sql   = <<-EOQ
        select coalesce(sum(greatest(unused_seats, 0)), 0) as value from confluence_license
      EOQ
    }
  }

  container {
    table {
      title = "Spend per site"
      width = 12
      sql   = <<-EOQ
        select
          site,
          edition,
          billing_cycle,
          seats_bought,
          billable_users,
          amount_monthly_minor,
          amount_annual_minor,
          currency,
          cost_source
        from confluence_license
        order by site
      EOQ
    }

    table {
      title = "Spend per edition"
      width = 6
      sql   = <<-EOQ
        select
          edition,
          currency,
          count(*) as sites,
          sum(seats_bought) as seats_bought,
          sum(billable_users) as billable_users,
          sum(amount_monthly_minor) as spend_monthly_minor,
          sum(amount_annual_minor) as spend_annual_minor
        from confluence_license
        group by edition, currency
        order by edition, currency
      EOQ
    }
  }

  container {
    chart {
      title = "Spend a month per site (major units of the site's currency)"
      type  = "bar"
      width = 6
      sql   = <<-EOQ
        select
          site || ' (' || currency || ')' as site,
          case when currency in ('JPY', 'KRW') then amount_monthly_minor
            else amount_monthly_minor / 100.0 end as spend_monthly
        from confluence_license
        where amount_monthly_minor is not null
        order by amount_monthly_minor desc
      EOQ
    }

    chart {
      title = "Spend a year per site (major units of the site's currency)"
      type  = "bar"
      width = 6
      sql   = <<-EOQ
        select
          site || ' (' || currency || ')' as site,
          case when currency in ('JPY', 'KRW') then amount_annual_minor
            else amount_annual_minor / 100.0 end as spend_annual
        from confluence_license
        where amount_annual_minor is not null
        order by amount_annual_minor desc
      EOQ
    }

    chart {
      title = "Seats bought against billable users per site (users)"
      type  = "bar"
      width = 6
      sql   = <<-EOQ
        select
          site,
          seats_bought,
          billable_users
        from confluence_license
        order by site
      EOQ
    }

    chart {
      title = "Users by days since last active in Confluence (users)"
      type  = "column"
      width = 6
      query = query.confluence_spend_days_since_active
      args = {
        inactive_days = var.inactive_days
      }
    }
  }

  # The findings of every recommendation summed per rule and currency, from
  # the generated queries in queries.pp. Their params default to the mod
  # variables, as the controls' do.
  container {
    chart {
      title    = "Savings per recommendation, a month and a year (major units of the currency)"
      type     = "bar"
      width    = 6
      grouping = "compare"
      query    = query.confluence_savings_by_recommendation_chart
    }

    table {
      title = "Savings per recommendation"
      width = 6
      query = query.confluence_savings_by_recommendation
    }
  }

  # The savings recommendations, one control each, with every finding and
  # its saving in the reason column.
  benchmark {
    base = benchmark.confluence_savings
  }
}

# Buckets of days since last active, split at inactive_days so that the
# series inactive starts at the threshold.
query "confluence_spend_days_since_active" {
  param "inactive_days" {
    description = "Days without Confluence activity after which a user counts as inactive."
    default     = var.inactive_days
  }

  sql = <<-EOQ
    with days as (
      select
        case
          when not last_active_known then null
          when last_active is null then -1
          else days_since_last_active
        end as d
      from confluence_user
    )
    select
      case
        when d is null then 'unknown'
        when d = -1 then 'never'
        when d < 30 then '0-29'
        when d < 90 then '30-89'
        when d < 180 then '90-179'
        when d < 365 then '180-364'
        else '365+'
      end as bucket,
      case
        when d is null then 'unknown'
        when d = -1 or d >= $1::int then 'inactive'
        else 'active'
      end as state,
      count(*) as users
    from days
    group by bucket, state
    order by min(coalesce(d, 100000))
  EOQ
}
