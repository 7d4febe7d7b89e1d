// Package kubernetes_test checks the manifests of deploy/kubernetes: each
// decoded strictly into the Kubernetes API's own types, so that a misspelt
// or misplaced field fails here and not on a cluster, and checked for what
// a fleet needs. No cluster and no image are needed.
package kubernetes_test

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/twbench/twbench/loadgen"
)

// kustomization is the part of kustomize's Kustomization the manifests use;
// a field outside it fails the strict decoding.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// objects are the manifests' objects, by kind.
type objects struct {
	jobs        []batchv1.Job
	deployments []appsv1.Deployment
	daemonSets  []appsv1.DaemonSet
	services    []corev1.Service
	namespaces  []corev1.Namespace
}

func load(t *testing.T) (kustomization, objects) {
	t.Helper()
	var k kustomization
	decode(t, "kustomization.yaml", readFile(t, "kustomization.yaml"), &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: %s %s; want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	files, _ := filepath.Glob("*.yaml")
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	if got, want := slices.Sorted(slices.Values(k.Resources)), files; !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml lists %v; the manifests here are %v", got, want)
	}
	var o objects
	for _, f := range k.Resources {
		for i, doc := range documents(readFile(t, f)) {
			var tm struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			where := f + ", " + tm.Kind
			switch tm.APIVersion + " " + tm.Kind {
			case "batch/v1 Job":
				o.jobs = append(o.jobs, batchv1.Job{})
				decode(t, where, doc, &o.jobs[len(o.jobs)-1])
			case "apps/v1 Deployment":
				o.deployments = append(o.deployments, appsv1.Deployment{})
				decode(t, where, doc, &o.deployments[len(o.deployments)-1])
			case "apps/v1 DaemonSet":
				o.daemonSets = append(o.daemonSets, appsv1.DaemonSet{})
				decode(t, where, doc, &o.daemonSets[len(o.daemonSets)-1])
			case "v1 Service":
				o.services = append(o.services, corev1.Service{})
				decode(t, where, doc, &o.services[len(o.services)-1])
			case "v1 Namespace":
				o.namespaces = append(o.namespaces, corev1.Namespace{})
				decode(t, where, doc, &o.namespaces[len(o.namespaces)-1])
			default:
				t.Fatalf("%s, document %d: %s %s: not a kind this test knows", f, i+1, tm.APIVersion, tm.Kind)
			}
		}
	}
	return k, o
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// documents splits a YAML stream at its --- lines.
func documents(b []byte) [][]byte {
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

// decode decodes strictly: an unknown or duplicated field is an error.
func decode(t *testing.T, where string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// The strict decoding refuses what it should, or the checks prove
// nothing.
func TestStrictDecodingRefuses(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: batch/v1\nkind: Job\nspec:\n  completionsMode: Indexed\n",                                                        // misspelt
		"apiVersion: batch/v1\nkind: Job\nspec:\n  parallelism: \"3\"\n",                                                              // a string for a number
		"apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          args: run\n", // args is a list
		"apiVersion: batch/v1\nkind: Job\nspec:\n  parallelism: 3\n  parallelism: 4\n",                                                // twice
	} {
		var j batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(doc), &j); err == nil {
			t.Errorf("strict decoding accepts:\n%s", doc)
		}
	}
}

func TestManifests(t *testing.T) {
	k, o := load(t)
	if len(o.jobs) != 1 || len(o.deployments) != 1 || len(o.daemonSets) != 1 || len(o.services) != 1 || len(o.namespaces) != 1 {
		t.Fatalf("%d jobs, %d deployments, %d daemon sets, %d services, %d namespaces; want one of each",
			len(o.jobs), len(o.deployments), len(o.daemonSets), len(o.services), len(o.namespaces))
	}
	if o.namespaces[0].Name != k.Namespace {
		t.Errorf("the namespace is %q, the kustomization's %q", o.namespaces[0].Name, k.Namespace)
	}
	if len(k.Images) != 1 || k.Images[0].Name != "twbench" {
		t.Fatalf("kustomization images: %+v; want one, twbench", k.Images)
	}
	pods := map[string]*corev1.PodTemplateSpec{
		"Job " + o.jobs[0].Name:               &o.jobs[0].Spec.Template,
		"Deployment " + o.deployments[0].Name: &o.deployments[0].Spec.Template,
		"DaemonSet " + o.daemonSets[0].Name:   &o.daemonSets[0].Spec.Template,
	}
	for name, pod := range pods {
		checkPod(t, name, pod, k.Images[0].Name)
	}
	for name, pod := range map[string]*corev1.PodTemplateSpec{
		"Deployment " + o.deployments[0].Name: &o.deployments[0].Spec.Template,
		"DaemonSet " + o.daemonSets[0].Name:   &o.daemonSets[0].Spec.Template,
	} {
		for _, c := range pod.Spec.Containers {
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Errorf("%s, container %s: want a readiness and a liveness probe", name, c.Name)
			}
		}
	}
	checkJob(t, &o.jobs[0], &o.services[0])
	checkServe(t, &o.deployments[0], &o.services[0])
	checkAgent(t, &o.daemonSets[0])
}

// checkPod checks what every pod needs: the image, requests and limits,
// non-root without privilege or capability, the agent's token.
func checkPod(t *testing.T, name string, pod *corev1.PodTemplateSpec, image string) {
	t.Helper()
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: want runAsNonRoot and a runAsUser other than 0", name)
	} else if *sc.RunAsUser != dockerfileUser(t) {
		t.Errorf("%s: runAsUser %d; the Dockerfile's USER is %d", name, *sc.RunAsUser, dockerfileUser(t))
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: want the RuntimeDefault seccomp profile", name)
	}
	if len(pod.Spec.Containers) == 0 {
		t.Fatalf("%s: no container", name)
	}
	for _, c := range pod.Spec.Containers {
		where := name + ", container " + c.Name
		if c.Image != image {
			t.Errorf("%s: image %q; want %q, which the kustomization names", where, c.Image, image)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
			if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
				t.Errorf("%s: %s request %s, limit %s; want both, the request at most the limit", where, res, req.String(), lim.String())
			}
		}
		cs := c.SecurityContext
		switch {
		case cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation:
			t.Errorf("%s: want allowPrivilegeEscalation: false", where)
		case cs.Privileged != nil && *cs.Privileged:
			t.Errorf("%s: privileged", where)
		case cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") || len(cs.Capabilities.Add) > 0:
			t.Errorf("%s: want every capability dropped and none added", where)
		case cs.RunAsUser != nil && *cs.RunAsUser == 0:
			t.Errorf("%s: runs as root", where)
		}
		token := env(c, "TWBENCH_TOKEN")
		if token == nil || token.ValueFrom == nil || token.ValueFrom.SecretKeyRef == nil || token.ValueFrom.SecretKeyRef.Name != "twbench-token" {
			t.Errorf("%s: want TWBENCH_TOKEN from the secret twbench-token", where)
		}
	}
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// checkJob checks the generators: an Indexed Job of N pods, each the shard
// of its completion index, with the same N in the three places.
func checkJob(t *testing.T, j *batchv1.Job, svc *corev1.Service) {
	t.Helper()
	s := &j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("job %s: want completionMode Indexed", j.Name)
	}
	if s.Completions == nil || s.Parallelism == nil {
		t.Fatalf("job %s: want completions and parallelism", j.Name)
	}
	n := int(*s.Completions)
	if int(*s.Parallelism) != n {
		t.Errorf("job %s: parallelism %d, completions %d: every shard must run at once", j.Name, *s.Parallelism, n)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job %s: restartPolicy %s; want Never, a failed shard a pod of its own", j.Name, s.Template.Spec.RestartPolicy)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("job %s: %d containers; want 1", j.Name, len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]

	// JOB_COMPLETION_INDEX before TWBENCH_SHARD, which uses it: Kubernetes
	// expands $(VAR) only from the variables above.
	idx := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "JOB_COMPLETION_INDEX" })
	shard := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "TWBENCH_SHARD" })
	if idx < 0 || shard < 0 || idx > shard {
		t.Fatalf("job %s: want JOB_COMPLETION_INDEX, then TWBENCH_SHARD", j.Name)
	}
	if ref := c.Env[idx].ValueFrom; ref == nil || ref.FieldRef == nil ||
		ref.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("job %s: JOB_COMPLETION_INDEX must come from the completion index annotation", j.Name)
	}
	want := "$(JOB_COMPLETION_INDEX)/" + strconv.Itoa(n)
	if got := c.Env[shard].Value; got != want {
		t.Errorf("job %s: TWBENCH_SHARD = %q; want %q, N the completions' %d", j.Name, got, want, n)
	}
	// What each pod's twbench reads, once Kubernetes has expanded it.
	seen := map[loadgen.Shard]bool{}
	for i := range n {
		sh, err := loadgen.ParseShard(strings.ReplaceAll(c.Env[shard].Value, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i)))
		if err != nil || sh.Index != i || sh.Count != n || seen[sh] {
			t.Errorf("job %s: pod %d reads TWBENCH_SHARD as %v, %v; want shard %d/%d", j.Name, i, sh, err, i, n)
		}
		seen[sh] = true
	}
	if e := env(c, "TWBENCH_START_AT"); e == nil || !regexp.MustCompile(`^\+\d+(ms|s|m)$|^\d{4}-\d\d-\d\dT`).MatchString(e.Value) {
		t.Errorf("job %s: want TWBENCH_START_AT, +DURATION or an RFC 3339 time", j.Name)
	}

	args := c.Args
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("job %s: args %q; want twbench run", j.Name, args)
	}
	if !hasPair(args, "-o", "-") {
		t.Errorf("job %s: args %q; want -o -, the report on stdout for kubectl logs", j.Name, args)
	}
	for _, flag := range []string{"--shard", "--start-at", "--expect"} {
		if slices.Contains(args, flag) {
			t.Errorf("job %s: %s in the args: the environment gives it, or the scenario and merge do", j.Name, flag)
		}
	}
	// The target and the agent are the Service's.
	for flag, port := range map[string]string{"--target": "http", "--server-agent": "agent"} {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Errorf("job %s: want %s", j.Name, flag)
			continue
		}
		u, err := url.Parse(args[i+1])
		if err != nil || u.Hostname() != svc.Name || u.Port() != strconv.Itoa(int(servicePort(svc, port))) {
			t.Errorf("job %s: %s %s; want the service %s's %s port", j.Name, flag, args[i+1], svc.Name, port)
		}
	}
}

func hasPair(args []string, a, b string) bool {
	i := slices.Index(args, a)
	return i >= 0 && i+1 < len(args) && args[i+1] == b
}

func servicePort(svc *corev1.Service, name string) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port
		}
	}
	return 0
}

// checkServe checks the target: serve's listener and agent on the ports
// the headless Service names.
func checkServe(t *testing.T, d *appsv1.Deployment, svc *corev1.Service) {
	t.Helper()
	labels := d.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			t.Errorf("service %s selects %s=%s; deployment %s's pods are %v", svc.Name, k, v, d.Name, labels)
		}
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("service %s: want a headless service (clusterIP: None): the sockets' addresses are the pod's", svc.Name)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("deployment %s: args %q; want twbench serve", d.Name, c.Args)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, sp := range svc.Spec.Ports {
		if sp.TargetPort.String() != sp.Name || ports[sp.Name] == 0 {
			t.Errorf("service %s: port %s targets %s; want the container's port of that name", svc.Name, sp.Name, sp.TargetPort.String())
		}
	}
	listen := c.Args[slices.Index(c.Args, "--listen")+1]
	agent := c.Args[slices.Index(c.Args, "--agent")+1]
	if !strings.HasSuffix(listen, ":"+strconv.Itoa(int(ports["http"]))) || !strings.HasSuffix(agent, ":"+strconv.Itoa(int(ports["agent"]))) {
		t.Errorf("deployment %s: serve --listen %s --agent %s; want the ports %v", d.Name, listen, agent, ports)
	}
	for _, probe := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if probe != nil && probe.TCPSocket != nil && probe.TCPSocket.Port.String() == "http" {
			t.Errorf("deployment %s: a probe on the target's port: its connections would count in the server end", d.Name)
		}
	}
}

// checkAgent checks the agents: on the node's network, scraped by
// Prometheus on their own port.
func checkAgent(t *testing.T, d *appsv1.DaemonSet) {
	t.Helper()
	spec := d.Spec.Template.Spec
	if !spec.HostNetwork {
		t.Errorf("daemon set %s: want hostNetwork, to see the node's sockets", d.Name)
	}
	c := spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "agent" {
		t.Fatalf("daemon set %s: args %q; want twbench agent", d.Name, c.Args)
	}
	a := d.Spec.Template.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("daemon set %s: annotations %v; want prometheus.io/scrape and /metrics", d.Name, a)
	}
	if len(c.Ports) != 1 || a["prometheus.io/port"] != strconv.Itoa(int(c.Ports[0].ContainerPort)) ||
		!strings.HasSuffix(c.Args[slices.Index(c.Args, "--listen")+1], ":"+a["prometheus.io/port"]) {
		t.Errorf("daemon set %s: prometheus.io/port %s, ports %+v, args %q: want one port, the agent's", d.Name, a["prometheus.io/port"], c.Ports, c.Args)
	}
}

// dockerfileUser returns the numeric user the Dockerfile's image runs as,
// after checking that it builds twbench static (CGO_ENABLED=0) onto a
// base without a libc or shell.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	b := readFile(t, "Dockerfile")
	if !bytes.Contains(b, []byte("CGO_ENABLED=0 go build")) {
		t.Errorf("Dockerfile: want CGO_ENABLED=0 go build")
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllSubmatch(b, -1)
	if len(froms) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	if final := string(froms[len(froms)-1][1]); final != "scratch" && !strings.HasPrefix(final, "gcr.io/distroless/static") {
		t.Errorf("Dockerfile: the image is %s; want distroless/static or scratch", final)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\d+)(:\d+)?\s*$`).FindAllSubmatch(b, -1)
	if len(users) != 1 {
		t.Fatal("Dockerfile: want one numeric USER, so that runAsNonRoot can check it")
	}
	uid, _ := strconv.ParseInt(string(users[0][1]), 10, 64)
	if uid == 0 {
		t.Error("Dockerfile: USER 0 is root")
	}
	return uid
}
