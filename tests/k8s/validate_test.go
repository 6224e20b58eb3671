package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examples reads examples/kubernetes/*.yaml.
func examples(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("../../examples/kubernetes/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	files := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = data
	}
	return files
}

func TestExamplesAreValid(t *testing.T) {
	files := examples(t)
	if problems := validate(files); len(problems) > 0 {
		t.Fatalf("examples/kubernetes is invalid:\n%s", strings.Join(problems, "\n"))
	}
	for _, want := range []string{"kind: Job", "kind: CronJob", "kind: ConfigMap", "kind: Namespace"} {
		found := false
		for _, data := range files {
			found = found || strings.Contains(string(data), "\n"+want+"\n")
		}
		if !found {
			t.Errorf("no %q in examples/kubernetes", want)
		}
	}
}

// Each change to one example file must make validation fail with a problem
// containing `want`: the validator rejects what the API server or the
// cluster would, not merely what fails to parse.
func TestEachMistakeIsRejected(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"unknown field", "job.yaml", "      restartPolicy: Never\n", "      restartPolicy: Never\n      restartPolicyy: Never\n", `unknown field "restartPolicyy"`},
		{"misplaced field", "cronjob.yaml", "  concurrencyPolicy: Forbid\n", "  concurrencyPolicy: Forbid\n  backoffLimit: 0\n", `unknown field "backoffLimit"`},
		{"duplicate field", "job.yaml", "  backoffLimit: 0\n", "  backoffLimit: 0\n  backoffLimit: 1\n", `key "backoffLimit" already set`},
		{"wrong type", "job.yaml", "  backoffLimit: 0\n", "  backoffLimit: none\n", "backoffLimit"},
		{"unknown kind", "namespace.yaml", "kind: Namespace", "kind: Deployment", "unsupported apiVersion/kind"},
		{"bad name", "configmap.yaml", "  name: chaos-experiment\n", "  name: Chaos_Experiment\n", "metadata.name"},
		{"missing ConfigMap key", "job.yaml", "- key: experiment.json", "- key: experiments.json", `has no key "experiments.json"`},
		{"missing ConfigMap", "cronjob.yaml", "            name: chaos-experiment\n", "            name: chaos-experimen\n", "no ConfigMap chaos/chaos-experimen"},
		{"unmounted volume", "job.yaml", "            - name: tmp\n              mountPath: /tmp", "            - name: scratch\n              mountPath: /tmp", "volumeMount scratch names no volume"},
		{"env reference", "job.yaml", "k8s.pod.name=$(POD_NAME)", "k8s.pod.name=$(POD)", "refers to $(POD)"},
		{"no collector", "cronjob.yaml", "- name: OTEL_EXPORTER_OTLP_ENDPOINT", "- name: OTEL_EXPORTER_OTLP_ENDPOIN", "no OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"bad collector", "job.yaml", "value: http://otel-collector", "value: otel-collector", "is not an http(s) URL"},
		{"root", "job.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot must be true"},
		{"privilege escalation", "cronjob.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation must be false"},
		{"restart policy", "cronjob.yaml", "restartPolicy: Never", "restartPolicy: Always", "restartPolicy \"Always\""},
		{"schedule", "cronjob.yaml", `schedule: "30 2 * * *"`, `schedule: "30 2 * *"`, "want 5 fields"},
		{"no control", "configmap.yaml", "module: chaostracing.control", "module: chaostracing.contro", "no control with module chaostracing.control"},
		{"broken experiment", "configmap.yaml", `"title": "The shop keeps`, `"title" "The shop keeps`, "experiment.json"},
		{"undeclared namespace", "configmap.yaml", "  namespace: chaos\n", "  namespace: chaos-other\n", "namespace chaos-other is not declared"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := examples(t)
			text := string(files[c.file])
			if strings.Count(text, c.old) != 1 {
				t.Fatalf("%s holds %q %d times, want once", c.file, c.old, strings.Count(text, c.old))
			}
			files[c.file] = []byte(strings.Replace(text, c.old, c.new, 1))
			problems := validate(files)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Fatalf("no problem containing %q; got:\n%s", c.want, strings.Join(problems, "\n"))
		})
	}
}
