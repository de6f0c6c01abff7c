// The function app's entry (package.json "main"): importing a module registers its functions.
import './addCertificate';
import './addMultipleCertificates';
import './importCertificate';
import './certificates';
import './gatewayWriter';
import './dashboard';
import './operations';
import './openapi';
