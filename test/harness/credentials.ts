// The lab PBX's credentials, as written in docker/asterisk/{ari,manager}.conf.
export const harnessEnv = {
  ARI_URL: 'http://127.0.0.1:8088',
  ARI_USERNAME: 'sticky',
  ARI_PASSWORD: 'sticky-ari-secret',
  ARI_APP: 'sticky-router',
  AMI_HOST: '127.0.0.1',
  AMI_PORT: '5038',
  AMI_USERNAME: 'sticky',
  AMI_PASSWORD: 'sticky-ami-secret',
} as const;
