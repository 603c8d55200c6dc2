package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// externalMetrics are series that Prometheus or kube-state-metrics provide,
// not the worker.
var externalMetrics = map[string]string{
	"up":                    "Prometheus, per scrape target",
	"kube_pod_status_ready": "kube-state-metrics",
}

// alertRules returns alerts.yaml's rules.
func alertRules(t *testing.T) []map[string]any {
	t.Helper()
	doc := readOne(t, "prometheus/alerts.yaml")
	var rules []map[string]any
	for i := range getList(t, doc, "groups") {
		if getString(t, doc, "groups", i, "name") == "" {
			t.Errorf("group %d has no name", i)
		}
		for j := range getList(t, doc, "groups", i, "rules") {
			rules = append(rules, getMap(t, doc, "groups", i, "rules", j))
		}
	}
	return rules
}

// dashboardExprs returns every query of the dashboard, by panel title.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	d := readJSON(t, "grafana/dashboard.json")
	exprs := map[string][]string{}
	ids := map[float64]bool{}
	for i := range getList(t, d, "panels") {
		p := getMap(t, d, "panels", i)
		id, _ := p["id"].(float64)
		if ids[id] {
			t.Errorf("panel %d: id %v repeats", i, id)
		}
		ids[id] = true
		get(t, p, "gridPos", "w")
		if p["type"] == "row" {
			continue
		}
		title := getString(t, p, "title")
		if ds := getString(t, p, "datasource", "uid"); ds != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the ${datasource} variable", title, ds)
		}
		targets := getList(t, p, "targets")
		if len(targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for j := range targets {
			exprs[title] = append(exprs[title], getString(t, p, "targets", j, "expr"))
		}
	}
	for _, v := range getList(t, d, "templating", "list") {
		if q, ok := v.(map[string]any)["definition"].(string); ok {
			exprs["variable"] = append(exprs["variable"], strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ", job)"))
		}
	}
	return exprs
}

func TestAlertsAndDashboard_UseOnlyMetricsTheWorkerEmits(t *testing.T) {
	emitted := emittedMetrics(t)
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !emitted[n] && externalMetrics[n] == "" {
				t.Errorf("%s: %s is not a series the worker exposes (expr %q)", where, n, expr)
			}
		}
	}
	for _, r := range alertRules(t) {
		check("alert "+fmt.Sprint(r["alert"]), fmt.Sprint(r["expr"]))
	}
	for title, exprs := range dashboardExprs(t) {
		for _, e := range exprs {
			check("panel "+title, e)
		}
	}
}

// TestEmittedMetrics_IncludeTheDocumentedNames guards the collection
// itself: if it missed the names the README documents, the check above
// would prove nothing.
func TestEmittedMetrics_IncludeTheDocumentedNames(t *testing.T) {
	emitted := emittedMetrics(t)
	for _, n := range []string{
		"sprite_sessions_session_started_total",
		"sprite_sessions_session_ended_total",
		"sprite_sessions_update_total",
		"sprite_sessions_risky_step_total",
		"sprite_sessions_cleanup_sprite_total",
		"sprite_sessions_reaper_orphans_found_total",
		"sprite_sessions_reaper_orphans_deleted_total",
		"sprite_sessions_reaper_delete_failed_total",
		"sprite_sessions_reaper_owner_lookup_failed_total",
		"sprite_sessions_sprites_api_requests_total",
		"sprite_sessions_sprites_api_request_duration_seconds_bucket",
		"sprite_sessions_sprites_created_total",
		"sprite_sessions_sprites_deleted_total",
		"sprite_sessions_sprites_live",
		"temporal_workflow_task_execution_failed_total",
		"temporal_activity_execution_latency_seconds_bucket",
		"temporal_worker_task_slots_available",
	} {
		if !emitted[n] {
			t.Errorf("%s is documented but not found among the emitted series", n)
		}
	}
	for n := range emitted {
		if strings.HasPrefix(n, "temporal_") && strings.HasSuffix(n, "_total_total") {
			t.Errorf("%s: doubled suffix", n)
		}
	}
}

func TestAlerts_CoverTheFailureModes(t *testing.T) {
	rules := alertRules(t)
	seen := map[string]bool{}
	var used []string
	for _, r := range rules {
		name, _ := r["alert"].(string)
		if name == "" {
			t.Errorf("rule without alert name: %v", r)
			continue
		}
		if seen[name] {
			t.Errorf("alert %s repeats", name)
		}
		seen[name] = true
		sev, _ := get(t, r, "labels", "severity").(string)
		if sev != "warning" && sev != "critical" {
			t.Errorf("alert %s: severity %q, want warning or critical", name, sev)
		}
		if s, _ := get(t, r, "annotations", "summary").(string); s == "" {
			t.Errorf("alert %s: no summary", name)
		}
		used = append(used, metricNames(fmt.Sprint(r["expr"]))...)
	}
	for _, want := range []string{
		"sprite_sessions_sprites_live",
		"sprite_sessions_sprites_created_total",
		"sprite_sessions_cleanup_sprite_total",
		"sprite_sessions_reaper_delete_failed_total",
		"sprite_sessions_reaper_owner_lookup_failed_total",
		"sprite_sessions_reaper_orphans_found_total",
		"sprite_sessions_sprites_api_requests_total",
		"sprite_sessions_sprites_api_request_duration_seconds_bucket",
		"temporal_workflow_task_execution_failed_total",
		"up",
		"kube_pod_status_ready",
	} {
		if !slices.Contains(used, want) {
			t.Errorf("no alert uses %s", want)
		}
	}
}

// TestPrometheusConfig_ScrapesTheJobTheAlertsSelect keeps the compose
// stack's scrape job and the alerts' job selector in step.
func TestPrometheusConfig_ScrapesTheJobTheAlertsSelect(t *testing.T) {
	cfg := readOne(t, "prometheus/prometheus.yml")
	job := getString(t, cfg, "scrape_configs", 0, "job_name")
	if files := getList(t, cfg, "rule_files"); len(files) != 1 || !strings.HasSuffix(fmt.Sprint(files[0]), "/alerts.yaml") {
		t.Errorf("rule_files = %v, want alerts.yaml", files)
	}
	var found bool
	for _, r := range alertRules(t) {
		if strings.Contains(fmt.Sprint(r["expr"]), `job="`+job+`"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no alert selects job=%q", job)
	}
}
