import { app } from '@azure/functions';
import { listCertificates } from '../http/listCertificates';

app.http('ListCertificates', {
  route: 'certificates',
  methods: ['GET'],
  authLevel: 'function',
  handler: listCertificates,
});
