// Command validate checks Kubernetes manifests strictly against the API
// types of k8s.io/api: every document must be a kind it knows, decode with
// unknown and duplicate fields rejected, and pass the checks below that the
// types alone cannot express (names, references between objects, the
// restricted pod security level, the chaostracing settings in ConfigMaps).
//
//	go run . FILE.yaml...     (exit 1 and one line per problem when invalid)
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// manifests is what a set of files declares, by kind.
type manifests struct {
	configMaps map[string]*corev1.ConfigMap // by namespace/name
	namespaces map[string]bool
	pods       []podOf // pod templates of Jobs and CronJobs
	problems   []string
}

type podOf struct {
	where     string
	namespace string
	spec      *corev1.PodSpec
}

func (m *manifests) fail(format string, args ...any) {
	m.problems = append(m.problems, fmt.Sprintf(format, args...))
}

// documents splits a YAML stream on its "---" separator lines, dropping
// empty documents (comments only).
func documents(data []byte) [][]byte {
	var out [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		meaningful := false
		for _, ln := range strings.Split(doc, "\n") {
			t := strings.TrimSpace(ln)
			if t != "" && !strings.HasPrefix(t, "#") {
				meaningful = true
			}
		}
		if meaningful {
			out = append(out, []byte(doc))
		}
	}
	return out
}

// add decodes one document strictly into its API type and records it.
func (m *manifests) add(where string, doc []byte) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		m.fail("%s: not YAML: %v", where, err)
		return
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	default:
		m.fail("%s: unsupported apiVersion/kind %q %q", where, tm.APIVersion, tm.Kind)
		return
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		m.fail("%s: %s: %v", where, tm.Kind, err)
		return
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		m.checkMeta(where, &o.ObjectMeta, true)
		m.configMaps[o.Namespace+"/"+o.Name] = o
		m.checkConfigMap(where, o)
	case *corev1.Namespace:
		m.checkMeta(where, &o.ObjectMeta, false)
		m.namespaces[o.Name] = true
	case *batchv1.Job:
		m.checkMeta(where, &o.ObjectMeta, true)
		m.checkJob(where, o.Namespace, &o.Spec)
	case *batchv1.CronJob:
		m.checkMeta(where, &o.ObjectMeta, true)
		if f := strings.Fields(o.Spec.Schedule); len(f) != 5 {
			m.fail("%s: schedule %q: want 5 fields (minute hour day month weekday)", where, o.Spec.Schedule)
		}
		if o.Spec.ConcurrencyPolicy == "" {
			m.fail("%s: no concurrencyPolicy: overlapping runs would share the target", where)
		}
		m.checkJob(where, o.Namespace, &o.Spec.JobTemplate.Spec)
	}
}

func (m *manifests) checkMeta(where string, meta *metav1.ObjectMeta, namespaced bool) {
	for _, e := range validation.IsDNS1123Subdomain(meta.Name) {
		m.fail("%s: metadata.name %q: %s", where, meta.Name, e)
	}
	if namespaced && meta.Namespace == "" {
		m.fail("%s: metadata.namespace is missing", where)
	}
	for k, v := range meta.Labels {
		for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			m.fail("%s: label %s=%s: %s", where, k, v, e)
		}
	}
}

// checkConfigMap: keys are valid, and the Chaos Toolkit files it carries
// parse; a settings file must declare the chaostracing control.
func (m *manifests) checkConfigMap(where string, cm *corev1.ConfigMap) {
	for key, value := range cm.Data {
		for _, e := range validation.IsConfigMapKey(key) {
			m.fail("%s: data key %q: %s", where, key, e)
		}
		switch {
		case strings.HasSuffix(key, ".json"):
			var exp struct {
				Title  string `json:"title"`
				Method []any  `json:"method"`
			}
			if err := json.Unmarshal([]byte(value), &exp); err != nil {
				m.fail("%s: %s: %v", where, key, err)
			} else if exp.Title == "" || len(exp.Method) == 0 {
				m.fail("%s: %s: an experiment needs a title and a method", where, key)
			}
		case key == "settings.yaml":
			var settings struct {
				Controls map[string]struct {
					Provider struct {
						Type   string `json:"type"`
						Module string `json:"module"`
					} `json:"provider"`
				} `json:"controls"`
			}
			if err := yaml.Unmarshal([]byte(value), &settings); err != nil {
				m.fail("%s: %s: %v", where, key, err)
			}
			found := false
			for _, c := range settings.Controls {
				found = found || (c.Provider.Type == "python" && c.Provider.Module == "chaostracing.control")
			}
			if !found {
				m.fail("%s: %s: no control with module chaostracing.control", where, key)
			}
		}
	}
}

func (m *manifests) checkJob(where, namespace string, spec *batchv1.JobSpec) {
	p := spec.Template.Spec.RestartPolicy
	if p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		m.fail("%s: restartPolicy %q: a Job's pods need Never or OnFailure", where, p)
	}
	if spec.ActiveDeadlineSeconds == nil {
		m.fail("%s: no activeDeadlineSeconds: a hung experiment would run forever", where)
	}
	m.pods = append(m.pods, podOf{where, namespace, &spec.Template.Spec})
}

// checkPod runs once every ConfigMap is known: containers, volumes and their
// references, environment, and the restricted pod security level.
func (m *manifests) checkPod(p podOf) {
	s := p.spec
	if len(s.Containers) == 0 {
		m.fail("%s: no containers", p.where)
	}
	volumes := map[string]bool{}
	for _, v := range s.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap == nil {
			continue
		}
		cm, ok := m.configMaps[p.namespace+"/"+v.ConfigMap.Name]
		if !ok {
			m.fail("%s: volume %s: no ConfigMap %s/%s in these files", p.where, v.Name, p.namespace, v.ConfigMap.Name)
			continue
		}
		for _, item := range v.ConfigMap.Items {
			if _, ok := cm.Data[item.Key]; !ok {
				m.fail("%s: volume %s: ConfigMap %s has no key %q", p.where, v.Name, cm.Name, item.Key)
			}
		}
	}
	psc := s.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		m.fail("%s: pod securityContext.runAsNonRoot must be true", p.where)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		m.fail("%s: pod securityContext.seccompProfile must be RuntimeDefault", p.where)
	}
	for _, c := range s.Containers {
		where := p.where + ": container " + c.Name
		for _, e := range validation.IsDNS1123Label(c.Name) {
			m.fail("%s: name: %s", where, e)
		}
		if c.Image == "" {
			m.fail("%s: no image", where)
		}
		for _, vm := range c.VolumeMounts {
			if !volumes[vm.Name] {
				m.fail("%s: volumeMount %s names no volume", where, vm.Name)
			}
		}
		m.checkEnv(where, c.Env)
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			m.fail("%s: securityContext.allowPrivilegeEscalation must be false", where)
		}
		if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			m.fail("%s: securityContext.capabilities.drop must be [ALL]", where)
		}
	}
}

// checkEnv: valid names, $(VAR) references to variables defined before, and
// an OTLP endpoint that is an http(s) URL.
func (m *manifests) checkEnv(where string, env []corev1.EnvVar) {
	defined := map[string]bool{}
	endpoint := false
	for _, e := range env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			m.fail("%s: env %s: %s", where, e.Name, msg)
		}
		for _, ref := range regexp.MustCompile(`\$\(([^)]*)\)`).FindAllStringSubmatch(e.Value, -1) {
			if !defined[ref[1]] {
				m.fail("%s: env %s refers to $(%s), not defined before it", where, e.Name, ref[1])
			}
		}
		if e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" || e.Name == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
			u, err := url.Parse(e.Value)
			endpoint = err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
			if !endpoint {
				m.fail("%s: env %s=%q is not an http(s) URL", where, e.Name, e.Value)
			}
		}
		defined[e.Name] = true
	}
	if !endpoint {
		m.fail("%s: no OTEL_EXPORTER_OTLP_ENDPOINT: where would the spans go?", where)
	}
}

// validate returns the problems of the files, none when they are valid.
func validate(files map[string][]byte) []string {
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, namespaces: map[string]bool{}}
	for name, data := range files {
		for i, doc := range documents(data) {
			m.add(fmt.Sprintf("%s#%d", name, i+1), doc)
		}
	}
	for _, p := range m.pods {
		m.checkPod(p)
	}
	for key := range m.configMaps {
		ns := strings.SplitN(key, "/", 2)[0]
		if len(m.namespaces) > 0 && !m.namespaces[ns] {
			m.fail("ConfigMap %s: namespace %s is not declared in these files", key, ns)
		}
	}
	return m.problems
}

func main() {
	files := map[string][]byte{}
	for _, name := range os.Args[1:] {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		files[name] = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	}
	problems := validate(files)
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 || len(files) == 0 {
		os.Exit(1)
	}
	fmt.Printf("%d files valid\n", len(files))
}
