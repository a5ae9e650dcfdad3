// Package s3store talks to the stack's S3 endpoint (SeaweedFS, or any other
// S3 service named by MLFLOW_S3_ENDPOINT_URL): it creates the buckets the
// stack needs and checks that objects can be written and read back.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Store is an S3 endpoint with credentials.
type Store struct {
	client   *s3.Client
	endpoint string
}

// New returns a Store for endpoint (e.g. http://minio:9000), with path-style
// addressing since bucket names are not DNS names on this network.
func New(endpoint, accessKey, secretKey string) (*Store, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("S3 endpoint %q is not an http(s) URL (MLFLOW_S3_ENDPOINT_URL)", endpoint)
	}
	if accessKey == "" || secretKey == "" {
		return nil, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set: run opsctl init")
	}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		// Checksums on every request are an AWS extension some S3 servers
		// reject; ask for them only where the API requires them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	return &Store{client: client, endpoint: endpoint}, nil
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseBuckets splits a comma-separated list and validates each name.
func ParseBuckets(list string) ([]string, error) {
	var out []string
	for _, b := range strings.Split(list, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if !bucketName.MatchString(b) || strings.Contains(b, "..") {
			return nil, fmt.Errorf("bucket name %q is invalid: 3-63 lowercase letters, digits, '.' or '-' (S3_BUCKETS)", b)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("no bucket named (S3_BUCKETS is empty)")
	}
	return out, nil
}

// EnsureBuckets creates every missing bucket; existing ones, and their
// objects, are left as they are. It retries until ctx ends, because the
// gateway may answer before its filer is ready.
func (s *Store) EnsureBuckets(ctx context.Context, buckets []string, log func(string)) error {
	for _, b := range buckets {
		for attempt := 1; ; attempt++ {
			created, err := s.ensureBucket(ctx, b)
			if err == nil {
				if created {
					log(fmt.Sprintf("bucket %s created", b))
				} else {
					log(fmt.Sprintf("bucket %s exists", b))
				}
				break
			}
			if isAuthError(err) {
				return fmt.Errorf("bucket %s: the S3 endpoint %s refused the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): %w", b, s.endpoint, err)
			}
			log(fmt.Sprintf("bucket %s: attempt %d: %v", b, attempt, err))
			select {
			case <-ctx.Done():
				return fmt.Errorf("bucket %s: gave up: %w", b, err)
			case <-time.After(time.Duration(min(attempt, 5)) * time.Second):
			}
		}
	}
	return nil
}

func (s *Store) ensureBucket(ctx context.Context, bucket string) (created bool, err error) {
	_, err = s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if err == nil {
		return false, nil
	}
	var nf *types.NotFound
	if !errors.As(err, &nf) && !hasCode(err, "NotFound", "NoSuchBucket") {
		return false, err
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) || hasCode(err, "BucketAlreadyExists", "BucketAlreadyOwnedByYou") {
		return false, nil
	}
	return err == nil, err
}

// ListBuckets names the buckets the credentials can see.
func (s *Store) ListBuckets(ctx context.Context) ([]string, error) {
	out, err := s.client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	return names, nil
}

// RoundTrip writes an object to bucket, reads it back, compares and deletes it.
func (s *Store) RoundTrip(ctx context.Context, bucket, key string) error {
	body := []byte(fmt.Sprintf("opsctl round trip %d", time.Now().UnixNano()))
	if _, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	got, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	data, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	if !bytes.Equal(data, body) {
		return fmt.Errorf("get %s/%s returned %d bytes that differ from what was put", bucket, key, len(data))
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Put writes an object.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	return err
}

// ObjectExists reports whether bucket/key exists.
func (s *Store) ObjectExists(ctx context.Context, bucket, key string) (bool, error) {
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	var nf *types.NotFound
	if errors.As(err, &nf) || hasCode(err, "NotFound", "NoSuchKey") {
		return false, nil
	}
	return false, err
}

// ListKeys lists up to 1000 keys under prefix.
func (s *Store) ListKeys(ctx context.Context, bucket, prefix string) ([]string, error) {
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys, nil
}

func hasCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}

func isAuthError(err error) bool {
	return hasCode(err, "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden")
}

// IsAuthError reports whether err is the endpoint refusing credentials.
func IsAuthError(err error) bool { return isAuthError(err) }

// Object is one object of a bucket.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// ListObjects lists every object of bucket, following continuation tokens.
func (s *Store) ListObjects(ctx context.Context, bucket string) ([]Object, error) {
	var objs []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return objs, nil
}

// Download writes bucket/key to w and returns the bytes written.
func (s *Store) Download(ctx context.Context, bucket, key string, w io.Writer) (int64, error) {
	got, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer got.Body.Close()
	n, err := io.Copy(w, got.Body)
	if err != nil {
		return n, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return n, nil
}

// Upload writes body (size bytes) as bucket/key.
func (s *Store) Upload(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: body, ContentLength: aws.Int64(size)})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// BucketExists reports whether bucket exists (HEAD bucket); an error is
// the endpoint not answering or refusing the credentials.
func (s *Store) BucketExists(ctx context.Context, bucket string) (bool, error) {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	if err == nil {
		return true, nil
	}
	var nf *types.NotFound
	var nb *types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nb) || hasCode(err, "NotFound", "NoSuchBucket") {
		return false, nil
	}
	return false, err
}
