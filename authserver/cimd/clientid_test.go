package cimd

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseClientID(t *testing.T) {
	valid := []string{
		"https://app.example/client.json",
		"https://app.example/",
		"https://app.example:8443/oauth/client?tenant=1",
		"https://APP.example/Client.json",
		"https://127.0.0.1:4443/client.json",
		"https://[2001:db8::1]/client.json",
		"https://app.example/a%2Fb.json",
		"https://my_app.example/c",
	}
	for _, id := range valid {
		u, err := ParseClientID(id, false)
		if err != nil {
			t.Errorf("ParseClientID(%q): %v", id, err)
			continue
		}
		if u.String() != id {
			t.Errorf("ParseClientID(%q) = %s", id, u)
		}
	}
	invalid := map[string]string{
		"http://app.example/client.json":                             "https",
		"http://localhost:3000/client.json":                          "https",
		"HTTPS://app.example/client.json":                            "https",
		"ftp://app.example/client.json":                              "https",
		"https://app.example":                                        "path",
		"https://app.example?x=1":                                    "path",
		"https://app.example/client.json#frag":                       "fragment",
		"https://app.example/client.json#":                           "fragment",
		"https://user:pw@app.example/c.json":                         "user name",
		"https://user@app.example/c.json":                            "user name",
		"https://app.example/./client.json":                          ". or ..",
		"https://app.example/a/../client.json":                       ". or ..",
		"https://app.example/a/..":                                   ". or ..",
		"https://app.example/%2e%2E/client":                          ". or ..",
		"https://app.example/a%2F..%2Fb":                             ". or ..",
		"https:///client.json":                                       "host",
		"https:app.example/client.json":                              "https", // not starting with https://, opaque
		"https://app.example/client json":                            "space",
		"https://app.example/clïent":                                 "non-ASCII",
		"https://app.example:0/c":                                    "port",
		"https://app.example:99999/c":                                "port",
		"https://app.example:/c":                                     "port",
		"https://app.example:08/c":                                   "port",
		"https://[fe80::1%25eth0]/c":                                 "host",
		"https://app..example/c":                                     "host",
		"https://app.example./c":                                     "host",
		"https://127.1/c":                                            "host",
		"https://app.example/%zz":                                    "",
		"https://exa*mple.com/c":                                     "",
		"https://app.example/" + strings.Repeat("a", MaxClientIDLen): "longer",
		"": "https",
	}
	for id, msg := range invalid {
		_, err := ParseClientID(id, false)
		if !errors.Is(err, ErrClientID) {
			t.Errorf("ParseClientID(%q) = %v; want ErrClientID", id, err)
			continue
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseClientID(%q): %q does not say %q", id, err, msg)
		}
	}
	// Loopback http only when allowed, and only on loopback.
	for id, ok := range map[string]bool{
		"http://localhost:3000/client.json": true,
		"http://127.0.0.1:3000/client.json": true,
		"http://[::1]:3000/client.json":     true,
		"http://app.example/client.json":    false,
		"http://10.0.0.1/client.json":       false,
	} {
		if _, err := ParseClientID(id, true); (err == nil) != ok {
			t.Errorf("ParseClientID(%q, loopback allowed) = %v; want ok %v", id, err, ok)
		}
	}
}

func TestIsURL(t *testing.T) {
	for id, want := range map[string]bool{
		"https://app.example/c": true,
		"http://localhost/c":    true,
		"app":                   false,
		"HTTPS://app.example/c": false,
		"urn:example:client":    false,
		"":                      false,
	} {
		if got := IsURL(id); got != want {
			t.Errorf("IsURL(%q) = %v; want %v", id, got, want)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"93.184.215.14":        true,
		"8.8.8.8":              true,
		"2606:4700:4700::1111": true,
		"127.0.0.1":            false,
		"127.255.0.1":          false,
		"::1":                  false,
		"0.0.0.0":              false,
		"0.1.2.3":              false,
		"::":                   false,
		"10.0.0.1":             false,
		"172.16.5.4":           false,
		"172.31.255.255":       false,
		"172.32.0.1":           true,
		"192.168.1.1":          false,
		"169.254.169.254":      false,
		"100.64.0.1":           false,
		"100.127.255.255":      false,
		"100.128.0.1":          true,
		"192.0.0.8":            false,
		"192.0.2.1":            false,
		"198.18.0.1":           false,
		"198.51.100.7":         false,
		"203.0.113.9":          false,
		"224.0.0.1":            false,
		"239.255.255.250":      false,
		"240.0.0.1":            false,
		"255.255.255.255":      false,
		"fc00::1":              false,
		"fd12:3456::1":         false,
		"fe80::1":              false,
		"fec0::1":              false,
		"ff02::1":              false,
		"::ffff:127.0.0.1":     false,
		"::ffff:10.0.0.1":      false,
		"::ffff:8.8.8.8":       true,
		"::127.0.0.1":          false,
		"64:ff9b::10.0.0.1":    false,
		"64:ff9b:1::1":         false,
		"2002:7f00:1::1":       false,
		"2001:0:4136:e378::1":  false,
		"2001:db8::1":          false,
		"100::1":               false,
		"2a00:1450:4001::200e": true,
	} {
		a := netip.MustParseAddr(s)
		if got := PublicAddr(a); got != want {
			t.Errorf("PublicAddr(%s) = %v; want %v", s, got, want)
		}
	}
	if PublicAddr(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
	if PublicAddr(netip.MustParseAddr("2606:4700::1%eth0")) {
		t.Error("an address with a zone is public")
	}
}

func TestValidDomainPattern(t *testing.T) {
	for p, want := range map[string]bool{
		"example.com":         true,
		"*.example.com":       true,
		"127.0.0.1":           true,
		"":                    false,
		"*":                   false,
		"*.":                  false,
		"a.*.example":         false,
		"**.example.com":      false,
		"example.com:443":     false,
		"https://example.com": false,
		"example.com/":        false,
		"exa mple.com":        false,
	} {
		if got := ValidDomainPattern(p); got != want {
			t.Errorf("ValidDomainPattern(%q) = %v; want %v", p, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	const id = "https://app.example/client.json"
	doc := validDoc(id)
	doc["scope"] = "tools:read tools:write"
	doc["grant_types"] = []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code", "authorization_code"}
	doc["redirect_uris"] = []string{"https://app.example/cb", "https://app.example/cb", "com.example.app:/oauth"}
	doc["unknown_member"] = map[string]any{"x": 1}
	b, _ := json.Marshal(doc)
	d, err := Parse(id, b)
	if err != nil {
		t.Fatal(err)
	}
	if d.ClientID != id || d.ClientName != "Example MCP Client" ||
		strings.Join(d.RedirectURIs, " ") != "https://app.example/cb com.example.app:/oauth" ||
		strings.Join(d.GrantTypes, " ") != "authorization_code" ||
		strings.Join(d.Scopes, " ") != "tools:read tools:write" || d.ClientURI != "https://app.example/" {
		t.Errorf("document = %+v", d)
	}
	c := d.Client()
	if c.TokenEndpointAuthMethod != "none" || c.SecretHash != "" || c.Dynamic {
		t.Errorf("client = %+v; want a public client", c)
	}
	// Minimal document: client_id, client_name, redirect_uris.
	min := `{"client_id":"` + id + `","client_name":"Min","redirect_uris":["http://localhost:9999/cb"]}`
	if d, err := Parse(id, []byte(min)); err != nil || d.GrantTypes != nil || d.Scopes != nil {
		t.Errorf("minimal document: %+v, %v", d, err)
	}
}

// FuzzParse feeds arbitrary client ids and bodies to the document parser: it
// must not panic, and an accepted document must satisfy the rules Parse
// documents.
func FuzzParse(f *testing.F) {
	const id = "https://app.example/client.json"
	b, _ := json.Marshal(validDoc(id))
	f.Add(id, string(b))
	f.Add(id, `{"client_id":"`+id+`","client_name":"x","redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`)
	f.Add(id, `{"client_id":"`+id+`","client_name":"x","redirect_uris":["http://127.0.0.1/cb"],"client_secret":"s"}`)
	f.Add(id, `[]`)
	f.Add(id, `{"client_id":null}`)
	f.Add(id, `{"client_id":"`+id+`"} {}`)
	f.Fuzz(func(t *testing.T, clientID, body string) {
		d, err := Parse(clientID, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrDocument) {
				t.Fatalf("error %v is not ErrDocument", err)
			}
			return
		}
		if d.ClientID != clientID || d.ClientName == "" || len(d.RedirectURIs) == 0 || len(d.RedirectURIs) > MaxRedirectURIs {
			t.Fatalf("accepted document %+v breaks the rules", d)
		}
		if c := d.Client(); c.TokenEndpointAuthMethod != "none" || c.SecretHash != "" {
			t.Fatalf("client %+v is not public", c)
		}
	})
}

// FuzzParseClientID checks the client identifier rules on arbitrary input:
// no panic, and an accepted URL is https with a host and a path, without
// fragment, user information or dot segments, and writes back unchanged.
func FuzzParseClientID(f *testing.F) {
	for _, s := range []string{
		"https://app.example/client.json", "https://app.example", "https://a.example/../x",
		"https://u@a.example/x", "https://a.example/x#f", "https://[::1]:80/x", "https://a.example/%2e%2e/x",
		"https://a.example:443/x?y=z", "http://localhost/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		u, err := ParseClientID(id, false)
		if err != nil {
			if !errors.Is(err, ErrClientID) {
				t.Fatalf("error %v is not ErrClientID", err)
			}
			return
		}
		if u.Scheme != "https" || u.Host == "" || u.Path == "" || u.Fragment != "" || u.User != nil ||
			strings.Contains(id, "#") || u.String() != id || !IsURL(id) {
			t.Fatalf("accepted %q: %#v", id, u)
		}
		for seg := range strings.SplitSeq(u.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("accepted %q with a dot segment", id)
			}
		}
	})
}
