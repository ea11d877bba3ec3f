export {
  type CostPerRequestAboveBaselineOptions,
  costPerRequestAboveBaseline,
  type Duration,
  type FallbackRateSpikeOptions,
  fallbackRateSpike,
  type SpendAboveBaselineOptions,
  spendAboveBaseline,
  type TenantDailySpendAboveOptions,
  tenantDailySpendAbove,
} from "./alert-rules.js";
export {
  type Alert,
  type AlertCondition,
  type AlertErrorContext,
  type Alerting,
  type AlertingStats,
  type AlertRule,
  type AlertsOptions,
  alerts,
} from "./alerts.js";
export { type FormatOptions, formatReport, type ReportSection } from "./format.js";
export {
  type Breakdown,
  type CacheFigures,
  type CostReport,
  NO_KEY,
  type ReportOptions,
  report,
  reportFromLedger,
} from "./report.js";
