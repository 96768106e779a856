//go:build linux

package pvesim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type tlsInfo struct {
	cert        tls.Certificate
	caPEM       []byte
	caFile      string
	fingerprint string
}

// loadOrCreateCert reuses dir/pve-root-ca.pem + pve-ssl.{pem,key} when present
// (so a restarted simulator keeps its fingerprint), else generates a CA and a
// server certificate signed by it, like PVE's pve-root-ca and pve-ssl.
func loadOrCreateCert(dir string, nodes []string) (*tlsInfo, error) {
	caFile := filepath.Join(dir, "pve-root-ca.pem")
	certFile := filepath.Join(dir, "pve-ssl.pem")
	keyFile := filepath.Join(dir, "pve-ssl.key")
	if caPEM, err := os.ReadFile(caFile); err == nil {
		if cert, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
			return newTLSInfo(cert, caPEM, caFile), nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Proxmox Virtual Environment", OrganizationalUnit: []string{"pvesim"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1), Subject: pkix.Name{CommonName: nodes[0] + ".local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    append([]string{"localhost"}, nodes...),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	for f, data := range map[string][]byte{caFile: caPEM, certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			return nil, err
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return newTLSInfo(cert, caPEM, caFile), nil
}

func newTLSInfo(cert tls.Certificate, caPEM []byte, caFile string) *tlsInfo {
	sum := sha256.Sum256(cert.Certificate[0])
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return &tlsInfo{cert: cert, caPEM: caPEM, caFile: caFile, fingerprint: strings.Join(parts, ":")}
}

func (t *tlsInfo) clientConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(t.caPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
